"""Batch upsert of song records: the one write path for imports and the demo catalog.

Modules, each depending only on those listed before it:
- ``context``: the caches of one import and a batch's counts;
- ``rows``: preparing rows, what writing a record needs, worked out ahead on the import's
  reader thread;
- ``sql``: the song columns and the ``ON CONFLICT`` clause both writers share;
- ``resolve``: which stored (or new) song each record of a batch is (rule: catalog.identity);
- ``postgres`` and ``sqlite``: the writers;
- ``batch``: ``song_upsert_many``, one transaction per batch through the database's writer.
"""

from catalog.upsert.batch import song_upsert_many
from catalog.upsert.context import UpsertContext, UpsertResult
from catalog.upsert.rows import PreparedRecord, prepare

__all__ = ["PreparedRecord", "UpsertContext", "UpsertResult", "prepare", "song_upsert_many"]
