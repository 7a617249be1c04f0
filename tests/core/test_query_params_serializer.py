"""core.serializers.QueryParamsSerializer builds its fields once per class and thread: the
speed-up must not let one request's validation reach another's."""

from __future__ import annotations

import threading

from django.http import QueryDict
from rest_framework import serializers

from catalog.serializers import SongSearchInputSerializer
from core.serializers import EMPTY_MESSAGE, QueryParamsSerializer


def validate(query: str) -> tuple[bool, dict]:
    serializer = SongSearchInputSerializer(data=QueryDict(query))
    valid = serializer.is_valid()
    return valid, dict(serializer.validated_data if valid else serializer.errors)


def test_a_thread_reuses_its_fields_between_requests():
    first, second = SongSearchInputSerializer(data={}), SongSearchInputSerializer(data={})
    assert first.fields is second.fields


class _ContextField(serializers.CharField):
    """Appends what the serializer's context says (as a request-dependent field would)."""

    def to_internal_value(self, data):
        return f"{super().to_internal_value(data)}@{self.context['who']}"


class _ContextSerializer(QueryParamsSerializer):
    name = _ContextField(required=False)


def test_the_fields_see_the_serializer_of_their_own_request():
    first = _ContextSerializer(data=QueryDict("name=a"), context={"who": "first"})
    assert first.is_valid() and first.validated_data == {"name": "a@first"}

    second = _ContextSerializer(data=QueryDict("name=b"), context={"who": "second"})
    assert second.is_valid() and second.validated_data == {"name": "b@second"}
    assert all(field.parent is second for field in second.fields.values())
    # partial (a field's root): the second serializer's, not the first one's
    third = _ContextSerializer(data=QueryDict(""), context={"who": "third"}, partial=True)
    assert all(field.root is third for field in third.fields.values())


def test_each_request_is_validated_on_its_own():
    assert validate("q=halo&limit=5") == (
        True,
        {"q": "halo", "limit": 5, "offset": 0, "explicit": None, "has_spotify_id": None},
    )
    valid, errors = validate("q=halo&limit=0&year_min=1990&year_max=1980")
    assert not valid and set(errors) == {"limit"}
    valid, errors = validate("q=halo&year_min=1990&year_max=1980")
    assert not valid and errors == {"year_min": ["must not be greater than year_max"]}
    valid, errors = validate("q=halo&limit=")
    assert not valid and errors == {"limit": [EMPTY_MESSAGE]}
    assert validate("q=halo")[0] is True  # nothing of the failures above is left behind


def test_threads_validating_at_once_get_their_own_answers():
    results: dict[int, list[tuple[bool, dict]]] = {}
    start = threading.Barrier(4)

    def run(n: int) -> None:
        start.wait()
        results[n] = [validate(f"q=song{n}&limit={n + 1}&offset={500 + n}") for _ in range(50)]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n, answers in results.items():
        if n == 0:  # offset 500: the cap, accepted
            assert all(valid and data["q"] == "song0" for valid, data in answers)
        else:  # past the cap: refused, naming the offset only
            assert all(not valid and set(data) == {"offset"} for valid, data in answers)
