"""Two writers of one connection's plays at once (a plays sync and an export import are
different job kinds, so the job framework lets them run together): no play doubled."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection
from django.db import transaction

from bench.fake_library import make_track
from library.models import Play, PlaySource
from library.services.store import NewPlay, plays_store

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TRACK = make_track(1)["id"]


@pytest.mark.django_db(transaction=True)
def test_an_import_and_a_poll_writing_one_play_at_once_store_it_once(connection):
    if db_connection.vendor != "postgresql":
        pytest.skip("two writers at once: SQLite never runs them at once (one writer, IMMEDIATE)")
    # Given the import has written the export's row of a play but not committed yet
    written, outcome = threading.Event(), {}

    def import_export() -> None:
        try:
            with transaction.atomic():
                outcome["export"] = plays_store(
                    connection_id=connection.pk,
                    plays=[NewPlay(played_at=T0, track_id=TRACK, ms_played=200_000)],
                    source=PlaySource.EXPORT,
                )
                written.set()
                time.sleep(0.5)  # the poll reads the stored plays meanwhile
        finally:
            db_connection.close()

    def poll_api() -> None:
        try:
            written.wait(timeout=10)
            with transaction.atomic():
                outcome["api"] = plays_store(
                    connection_id=connection.pk,
                    plays=[NewPlay(played_at=T0 + timedelta(milliseconds=700), track_id=TRACK)],
                    source=PlaySource.API,
                )
        finally:
            db_connection.close()

    threads = [threading.Thread(target=import_export), threading.Thread(target=poll_api)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    # Then the poll waited for the import and recognised the play: stored once, not twice
    assert len(outcome["export"].inserted) == 1
    assert outcome["api"].duplicates == 1
    assert Play.objects.filter(connection=connection).count() == 1
