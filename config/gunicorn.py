"""gunicorn settings for the Procfile's web process (``gunicorn --config config/gunicorn.py``).

gunicorn answers an over-long request line itself (a plain-text 414, before Django sees it),
so its limit is raised to the most it allows: every query the API accepts fits. The longest is
a search with q, artist and album at their 200-character maximum, each character a 4-byte
UTF-8 one percent-encoded as 12 bytes: 3 x 2,400 bytes plus the other parameters, under 7,600.
"""

import os

# The most gunicorn accepts (0 would mean unlimited); its default, 4094, is too short.
limit_request_line = 8190
# Header fields stay at gunicorn's defaults (100 fields of up to 8190 bytes each).

# --- issue 14: throughput (bench/load.py; figures in docs/benchmarks.md "Load") ---------------
# Threads in each worker (gunicorn's gthread worker): a search spends most of its time waiting
# for PostgreSQL, and a sync worker idles through that wait. With 4 threads a worker serves
# other requests meanwhile. bench/load.py, 2 workers, 8 connections, 1 thread then 4 back to
# back on a shared machine: search 114 -> 144 req/s, p95 125 -> 104 ms, /healthz p95 48 -> 28 ms
# (docs/benchmarks.md "Load and fuzz"). Each thread keeps its own database connection
# (CONN_MAX_AGE): workers x threads connections at most.
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# No access log: RequestLogMiddleware already writes one JSON line per request (with its id and
# timing); gunicorn's would be a second, unstructured line for each.
accesslog = None
