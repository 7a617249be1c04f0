"""gunicorn settings for the Procfile's web process (``gunicorn --config config/gunicorn.py``).

gunicorn answers an over-long request line itself (a plain-text 414, before Django sees it),
so its limit is raised to the most it allows: every query the API accepts fits. The longest is
a search with q, artist and album at their 200-character maximum, each character a 4-byte
UTF-8 one percent-encoded as 12 bytes: 3 x 2,400 bytes plus the other parameters, under 7,600.
"""

# The most gunicorn accepts (0 would mean unlimited); its default, 4094, is too short.
limit_request_line = 8190
# Header fields stay at gunicorn's defaults (100 fields of up to 8190 bytes each).
