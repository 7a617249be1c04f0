"""Writes of the job framework, one module per role; dependencies point down the list.

- ``jobs``: job commands: create (one active job per kind and target), enqueue, retry, cancel.
- ``context``: ``JobContext``, what a kind's function receives: progress, checkpoints (with the
  heartbeat and the cancel check), the Spotify request count, the guarded finish.
- ``runner``: claim a pending job, run its kind, finish it or schedule a retry with backoff.
- ``reaper``: end jobs whose worker was lost (re-queue repeatable kinds), resend lost messages.
- ``import_files``: the import folder jobs read song files from, and its purge.

``runner`` uses ``context`` and ``jobs``; ``reaper`` and ``import_files`` use ``jobs``.
``jobs.job_enqueue`` sends the Celery task of ``sync.tasks``, which calls the runner: the one
import loop of the app, the Celery idiom. Import from the modules themselves; this package
re-exports nothing.
"""
