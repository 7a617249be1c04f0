"""The registry of kinds (``sync.registry``): looking kinds up and validating their parameters."""

from __future__ import annotations

import dataclasses

import pytest

from core.parsing import FALSE_WORDS, TRUE_WORDS
from sync.exceptions import InvalidJobParams, UnknownJobKind
from sync.kinds import catalog_import_run
from sync.models import JobTrigger, SyncJob
from sync.registry import all_kinds, get_kind, register
from sync.services.jobs import job_create
from tests.sync import probe
from tests.sync.helpers import create

pytestmark = pytest.mark.django_db


def test_unknown_kind_is_refused_naming_the_known_ones(probe_kind):
    with pytest.raises(UnknownJobKind) as info:
        create(kind="nope")
    assert "kind: unknown job kind 'nope'" in info.value.message
    assert "catalog_import" in info.value.message and "probe" in info.value.message
    assert not SyncJob.objects.exists()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"batches": -1}, "params.batches: Ensure this value is greater than or equal to 0."),
        ({"batches": "many"}, "params.batches: Enter a whole number."),
        ({"fail": "sometimes"}, "params.fail: Select a valid choice."),
        ({"bathces": 3}, "params.bathces: unknown parameter for probe"),
        ({"batches": [1, 2]}, "params.batches: expected a single value, not list."),
    ],
)
def test_bad_params_are_refused_naming_the_field(probe_kind, params, expected):
    with pytest.raises(InvalidJobParams) as info:
        create(params=params)
    assert info.value.message.startswith(expected)
    assert info.value.http_status == 400
    assert not SyncJob.objects.exists()


def test_params_must_be_an_object(probe_kind):
    with pytest.raises(InvalidJobParams, match="params: expected an object"):
        job_create(kind="probe", params=["batches"], trigger=JobTrigger.API)  # type: ignore[arg-type]


def test_flag_params_read_strings_as_the_shell_means_them(import_dir):
    (import_dir / "a.csv").write_text("x")
    kind_params = {"path": "a.csv", "strict": "0"}
    assert create(kind="catalog_import", params=kind_params).params["strict"] is False
    SyncJob.objects.all().delete()
    assert create(kind="catalog_import", params={**kind_params, "strict": "yes"}).params["strict"]
    with pytest.raises(InvalidJobParams, match=r"params\.strict: expected true or false"):
        create(kind="catalog_import", params={**kind_params, "strict": "perhaps"})


@pytest.mark.parametrize(
    ("word", "expected"),
    [*((w, True) for w in sorted(TRUE_WORDS)), *((w, False) for w in sorted(FALSE_WORDS))],
)
def test_flag_params_accept_the_words_import_records_accept(import_dir, word, expected):
    (import_dir / "a.csv").write_text("x")
    params = {"path": "a.csv", "strict": f" {word.upper()} "}
    assert create(kind="catalog_import", params=params).params["strict"] is expected


def test_a_blank_flag_param_is_false(import_dir):
    (import_dir / "a.csv").write_text("x")
    assert create(kind="catalog_import", params={"path": "a.csv", "strict": ""}).params == {
        "path": "a.csv",
        "fmt": "",
        "strict": False,
        "batch_size": 1000,
    }


def test_the_builtin_kinds_are_registered_when_the_app_is_ready():
    assert {"catalog_import", "worker_check"} <= {kind.name for kind in all_kinds()}
    assert get_kind("catalog_import").run is catalog_import_run


def test_a_second_kind_with_a_taken_name_is_refused(probe_kind):
    impostor = dataclasses.replace(probe.PROBE, label="Another probe")
    with pytest.raises(ValueError, match="'probe' is registered already"):
        register(impostor)
    assert get_kind("probe") is probe.PROBE
