"""The operations console for background jobs (healthchecks' ``hc/api/admin.py`` in spirit).

- ``jobs``: the ``SyncJob`` admin: the job list (kind, status, who started it, target, a
  progress bar, duration, attempts, started; filters that answer operator questions), the
  read-only job page (its error or warning at the top, the bad rows as a table, every attempt)
  and the bulk actions.
- ``pages``: the console's own pages: "Start a job", "Import songs", the progress endpoint
  the bars poll, and the job page's Cancel and Retry buttons.
- ``display``: how a job is shown (status badge, progress bar, durations, result, bad rows).
- ``forms``: the start and import forms; ``filters``: the list filters.

Every action calls the services of ``sync/services/``; nothing here holds a rule of its own.
Importing this package registers the admin (Django's admin autodiscovery does).
"""

from sync.admin.jobs import SyncJobAdmin

__all__ = ["SyncJobAdmin"]
