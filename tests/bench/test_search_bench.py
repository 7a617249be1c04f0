"""bench/search.py times the search as the view runs it: the search and the response body."""

import pytest

from bench.search import encore

pytestmark = pytest.mark.django_db


def test_the_benchmark_s_search_runs_and_counts_what_it_found(demo_catalog):
    assert encore("bohemain rapsody") == 1
    assert encore("queen") > 1
