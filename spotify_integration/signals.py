"""Signals of the Spotify integration, for the apps above it (which it must not import).

- ``spotify_pause_lifted``: an operator lifted the shared pause a 429 set (``manage.py
  spotify_unpause``) before its Retry-After ran out. Receivers return how many pieces of
  waiting work they started again; the job framework (``sync.receivers``) makes the jobs that
  were waiting out the pause due now.
"""

from __future__ import annotations

from django.dispatch import Signal

spotify_pause_lifted = Signal()
