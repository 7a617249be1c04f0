import sys

import pytest

from catalog import readahead
from catalog.services import song_import
from tests.catalog.samples import HEADER


@pytest.mark.django_db
def test_the_thread_switch_interval_is_lowered_while_importing_and_restored_after(write_file):
    before = sys.getswitchinterval()
    seen = []
    rows = "".join(f"Song {n},Artist,Album,1000,,,,\n" for n in range(30))
    song_import(
        path=write_file("s.csv", HEADER + rows),
        batch_size=10,
        on_batch=lambda progress: seen.append(sys.getswitchinterval()),
    )
    assert seen and all(value <= 0.0005 for value in seen)
    assert sys.getswitchinterval() == before


def test_overlapping_imports_keep_the_switch_interval_low_until_the_last_ends():
    before = sys.getswitchinterval()
    first, second = readahead.prompt_thread_switches(), readahead.prompt_thread_switches()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() <= 0.0005  # the second import still runs
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before
