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
# Threads in each worker (gunicorn's gthread worker): a search that runs waits for PostgreSQL
# most of its time, and a sync worker idles through that wait; with threads a worker serves
# other requests meanwhile (1 -> 4 threads: search 114 -> 144 req/s before the search cache).
# With the search cache most searches cost the web process 2 ms and a few cost 10: with 4
# threads a worker, 8 requests share the 2 cores at once and each uncached search is
# stretched by all the others; with 2 it waits less. bench/load.py, 2 workers, 8 connections,
# Zipf mix (88-90 % cached), three runs each back to back: 4 threads 442 / 438 / 407 req/s at
# p95 63 / 62 / 64 ms; 2 threads 464 / 501 / 463 req/s at p95 48 / 46 / 48 ms
# (docs/benchmarks.md "Load"). Each thread keeps its own database connection (CONN_MAX_AGE):
# workers x threads connections at most.
threads = int(os.environ.get("WEB_THREADS", "2"))
worker_class = "gthread"
# No access log: RequestLogMiddleware already writes one JSON line per request (with its id and
# timing); gunicorn's would be a second, unstructured line for each.
accesslog = None
