"""Write the periodic tasks declared in ``sync/schedule.py`` to django-celery-beat's tables."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from sync.schedule import MANAGED_PREFIX, PERIODIC_TASKS, PeriodicEntry


def _schedule(entry: PeriodicEntry) -> tuple[IntervalSchedule | None, CrontabSchedule | None]:
    """The interval or the crontab row (UTC) the entry runs on."""
    if entry.crontab:
        minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone="UTC",
        )
        return None, crontab
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=entry.every_seconds, period=IntervalSchedule.SECONDS
    )
    return interval, None


class Command(BaseCommand):
    help = (
        "Create or update the beat schedule from sync/schedule.py and remove managed entries "
        "no longer declared there. Safe to run on every deploy."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        declared = {entry.row_name for entry in PERIODIC_TASKS}
        with transaction.atomic():
            for entry in PERIODIC_TASKS:
                interval, crontab = _schedule(entry)
                _, created = PeriodicTask.objects.update_or_create(
                    name=entry.row_name,
                    defaults={
                        "task": entry.task,
                        "interval": interval,
                        "crontab": crontab,
                        "solar": None,
                        "clocked": None,
                        "kwargs": json.dumps(entry.kwargs),
                        "enabled": True,
                        "one_off": False,
                        "description": entry.description,
                    },
                )
                verb = "created" if created else "updated"
                self.stdout.write(f"{verb}: {entry.row_name} ({entry.when})")
            stale = PeriodicTask.objects.filter(name__startswith=MANAGED_PREFIX).exclude(
                name__in=declared
            )
            for name in stale.values_list("name", flat=True):
                self.stdout.write(f"removed: {name}")
            stale.delete()
