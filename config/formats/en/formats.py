"""Date formats for English (Django's ``FORMAT_MODULE_PATH``): every timestamp the admin shows
(the job console's created, started, heartbeat, finished…) is to the second, with its time zone:
``2026-11-30 06:23:04 UTC`` rather than ``Nov. 30, 2026, 6:23 a.m.``."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
