#!/usr/bin/env python
import os
import sys


def _default_settings() -> str:
    """The development settings only for the embedded default (no server database, no Redis):
    a command pointed at a real PostgreSQL or Redis is a deployment's and fails closed."""
    database = os.environ.get("DATABASE_URL", "")
    if os.environ.get("REDIS_URL") or (database and not database.startswith("sqlite")):
        return "config.settings.production"
    return "config.settings.base"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", _default_settings())
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
