"""Spotify features' tuning: enrichment, hybrid search, connections, users' libraries.

Plain values from the environment, read into ``base`` (``from .features import *``) so that
``base`` stays one screen per concern. Each block names the document that explains it.
"""

from __future__ import annotations

import environ

env = environ.Env()  # base read the optional .env file into the environment already

# --- Enrichment: budget lanes and metrics (docs/spotify.md "Budget lanes", docs/metrics.md) ---
# Spotify's rolling window in seconds; only benchmarks against a fake Spotify change it.
SPOTIFY_RATE_LIMIT_WINDOW = env.float("SPOTIFY_RATE_LIMIT_WINDOW", default=30.0)
# Share of the window enrichment may use while interactive or library calls are active in it.
SPOTIFY_ENRICHMENT_SHARE = env.float("SPOTIFY_ENRICHMENT_SHARE", default=0.5)
# Share of each window kept for interactive calls (a person never waits behind jobs).
SPOTIFY_INTERACTIVE_RESERVE = env.float("SPOTIFY_INTERACTIVE_RESERVE", default=0.05)
# Seconds a library or enrichment call waits for budget before its job is retried later.
SPOTIFY_BACKGROUND_WAIT = env.float("SPOTIFY_BACKGROUND_WAIT", default=120.0)
# Rate-limit pauses (Spotify 429s) one job may wait out; they use none of its attempts.
SYNC_PAUSE_LIMIT = env.int("SYNC_PAUSE_LIMIT", default=20)
# Transient failures (a 5xx, a timeout) of attempts that committed a batch first use none of
# the kind's attempts either: the job goes on from its progress; this caps them per job.
SYNC_PROGRESS_RETRY_LIMIT = env.int("SYNC_PROGRESS_RETRY_LIMIT", default=20)
# /metrics: a bearer token and/or client IPs or networks allowed; neither: signed-in staff only.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])

# --- Enrichment: matching
# A song is matched to its best Spotify candidate when that scores at least ACCEPT and leads
# the best other recording by MARGIN; below FLOOR nothing is worth a review (docs/matching.md).
# The defaults are catalog.enrichment.matching.DEFAULT_THRESHOLDS.
SPOTIFY_MATCH_ACCEPT = env.float("SPOTIFY_MATCH_ACCEPT", default=0.85)
SPOTIFY_MATCH_MARGIN = env.float("SPOTIFY_MATCH_MARGIN", default=0.08)
SPOTIFY_MATCH_FLOOR = env.float("SPOTIFY_MATCH_FLOOR", default=0.55)

# --- Enrichment: jobs -----------------------------------------------------------------------
# See docs/enrichment.md. A song's Spotify fields are refreshed once older than this many days.
SPOTIFY_REFRESH_AFTER_DAYS = env.int("SPOTIFY_REFRESH_AFTER_DAYS", default=30)
# The nightly refresh and the hourly match take at most this many songs a run, so that a
# development-mode app (one call a track) stays inside the job time limit; the rest waits for
# the next run, oldest first.
SPOTIFY_REFRESH_NIGHTLY_LIMIT = env.int("SPOTIFY_REFRESH_NIGHTLY_LIMIT", default=5000)
SPOTIFY_MATCH_HOURLY_LIMIT = env.int("SPOTIFY_MATCH_HOURLY_LIMIT", default=1000)

# --- Hybrid search (docs/search.md "Hybrid search") ----------------------------------------
# The mode of GET /api/songs/search/ when the request gives no `spotify` and Spotify is
# configured (auto, always, never); without Spotify credentials it is always "never".
SEARCH_SPOTIFY_DEFAULT = env("SEARCH_SPOTIFY_DEFAULT", default="auto")
if SEARCH_SPOTIFY_DEFAULT not in ("auto", "always", "never"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SEARCH_SPOTIFY_DEFAULT must be 'auto', 'always' or 'never'")
# `auto` asks Spotify when the local search finds fewer songs than this (or no exact title).
SEARCH_SPOTIFY_MIN_LOCAL = env.int("SEARCH_SPOTIFY_MIN_LOCAL", default=5)
# The most a search waits for Spotify, in ms from the start of the request.
SEARCH_SPOTIFY_BUDGET_MS = env.int("SEARCH_SPOTIFY_BUDGET_MS", default=300)
# Spotify calls that may run at once in a web process (late ones finish in the background).
SEARCH_SPOTIFY_WORKERS = env.int("SEARCH_SPOTIFY_WORKERS", default=8)
# Cache lifetimes: search results (hours), tracks (days), searches Spotify found nothing for.
SEARCH_SPOTIFY_CACHE_TTL = env.float("SEARCH_SPOTIFY_CACHE_TTL", default=6.0)
SEARCH_SPOTIFY_TRACK_CACHE_TTL = env.float("SEARCH_SPOTIFY_TRACK_CACHE_TTL", default=7.0)
SEARCH_SPOTIFY_EMPTY_CACHE_SECONDS = env.int("SEARCH_SPOTIFY_EMPTY_CACHE_SECONDS", default=300)
# The breaker opens after FAILURES failures or timeouts within WINDOW s, for OPEN_SECONDS s.
SEARCH_SPOTIFY_BREAKER_FAILURES = env.int("SEARCH_SPOTIFY_BREAKER_FAILURES", default=5)
SEARCH_SPOTIFY_BREAKER_WINDOW = env.float("SEARCH_SPOTIFY_BREAKER_WINDOW", default=60.0)
SEARCH_SPOTIFY_BREAKER_OPEN_SECONDS = env.float("SEARCH_SPOTIFY_BREAKER_OPEN_SECONDS", default=30.0)

# --- issue 12: connection lifecycle and sign-in (docs/connections.md) -----------------------
# A connection shows `expiring` this many days before its refresh token's 6 months end.
SPOTIFY_EXPIRY_WARNING_DAYS = env.int("SPOTIFY_EXPIRY_WARNING_DAYS", default=14)
# invalid_grant storms: at least MIN invalid_grants, and at least RATIO of the token refreshes,
# within WINDOW seconds is a Spotify incident, not users revoking: stop marking connections
# needs_reauth, keep their tokens, pause every refresh for PAUSE_SECONDS, log an ERROR.
SPOTIFY_INVALID_GRANT_STORM_MIN = env.int("SPOTIFY_INVALID_GRANT_STORM_MIN", default=5)
SPOTIFY_INVALID_GRANT_STORM_RATIO = env.float("SPOTIFY_INVALID_GRANT_STORM_RATIO", default=0.2)
SPOTIFY_INVALID_GRANT_STORM_WINDOW = env.int("SPOTIFY_INVALID_GRANT_STORM_WINDOW", default=600)
SPOTIFY_REFRESH_STORM_PAUSE_SECONDS = env.int("SPOTIFY_REFRESH_STORM_PAUSE_SECONDS", default=1800)
# Signing in with Spotify creates an Encore user for a Spotify account no user has connected
# yet. Off by default: an operator opens sign-ups (a development-mode Spotify app serves at
# most 5 allow-listed Spotify users anyway). Off, such a sign-in is refused with a message.
SPOTIFY_SIGNUP_ENABLED = env.bool("SPOTIFY_SIGNUP_ENABLED", default=False)
# Encore's own login page (username and password, or Spotify); @login_required pages go there.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/spotify/"

# --- issue 12: library sync (docs/library.md) ------------------------------------------------
# How often the beat fan-out starts each connection's plays sync and playlists sync (seconds);
# each connection has a stable offset inside the interval, so connections spread out.
LIBRARY_PLAYS_SYNC_INTERVAL = env.int("LIBRARY_PLAYS_SYNC_INTERVAL", default=15 * 60)
LIBRARY_PLAYLISTS_SYNC_INTERVAL = env.int("LIBRARY_PLAYLISTS_SYNC_INTERVAL", default=6 * 60 * 60)
# An export row is the play an API-synced play of the same track is when their times are at
# most this many seconds apart (the export's `ts` has second precision, the API's ms).
LIBRARY_EXPORT_MATCH_WINDOW_SECONDS = env.int("LIBRARY_EXPORT_MATCH_WINDOW_SECONDS", default=15)
# Export rows played shorter than this (ms) are skips, not plays: Spotify's own 30 s rule.
LIBRARY_EXPORT_MIN_MS_PLAYED = env.int("LIBRARY_EXPORT_MIN_MS_PLAYED", default=30_000)
# Upload limits of the streaming-history import: bytes a file, files an upload.
LIBRARY_HISTORY_MAX_FILE_BYTES = env.int("LIBRARY_HISTORY_MAX_FILE_BYTES", default=50_000_000)
LIBRARY_HISTORY_MAX_FILES = env.int("LIBRARY_HISTORY_MAX_FILES", default=40)
