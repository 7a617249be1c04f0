"""The registry of job kinds: what each kind runs and how its parameters are validated.

Kinds are declared in one place, ``sync/kinds.py``; a new background job is a function plus
one ``JobKind`` entry there. ``SyncConfig.ready()`` (``sync/apps.py``) registers them when the
app is ready. Everything else (API, admin "Start a job", ``sync_run``, the reaper) works from
this registry, so a kind never needs its own view, command or task.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.serializers.json import DjangoJSONEncoder

from core.parsing import parse_bool
from sync.exceptions import InvalidJobParams, UnknownJobKind
from sync.services.context import JobContext

JobFunction = Callable[[JobContext, dict[str, Any]], dict[str, Any] | None]

_SCALARS = (str, int, float, bool, type(None))


class TargetPolicy(enum.StrEnum):
    """Whether a kind works on one user's data (and so is unique per user) or on shared data."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


@dataclass(frozen=True)
class JobKind:
    """A kind of background job.

    ``run(ctx, params)`` does the work in batches, calling ``ctx.checkpoint(...)`` between
    batches and stopping when it returns ``False``; it returns a JSON-serialisable result
    summary. It raises an ``ApplicationError`` for a permanent failure and a transient error
    (see ``sync.exceptions.is_transient``) for one worth retrying.

    ``params_form`` validates parameters: its fields are the parameters, ``initial`` gives
    the defaults, and the same form renders the admin's "Start a job" entry.

    ``repeatable`` means running the job again from the start after a worker was lost halfway
    leaves the same result (idempotent writes); only such kinds are re-queued by the reaper.
    """

    name: str
    label: str
    description: str
    run: JobFunction
    params_form: type[forms.Form]
    repeatable: bool
    target: TargetPolicy = TargetPolicy.NONE
    max_attempts: int = 3

    def param_fields(self) -> dict[str, forms.Field]:
        return dict(self.params_form.base_fields)

    def clean_params(self, raw: Any) -> dict[str, Any]:
        """Validated parameters with defaults filled in, or ``InvalidJobParams`` naming the field.

        Unknown parameter names and non-scalar values are refused rather than ignored, so a typo
        in a parameter name cannot silently run the job with a default.
        """
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise InvalidJobParams("params: expected an object of parameter names to values.")
        fields = self.param_fields()
        unknown = sorted(set(raw) - set(fields))
        if unknown:
            known = ", ".join(fields) or "none"
            raise InvalidJobParams(
                f"params.{unknown[0]}: unknown parameter for {self.name} (known: {known}).",
                detail={name: ["Unknown parameter."] for name in unknown},
            )
        for name, value in raw.items():
            if not isinstance(value, _SCALARS):
                raise InvalidJobParams(
                    f"params.{name}: expected a single value, not {type(value).__name__}.",
                    detail={name: ["Expected a single value."]},
                )
        data: dict[str, Any] = {}
        for name, field in fields.items():
            if name in raw:
                data[name] = _coerce_flag(name, raw[name]) if _is_flag(field) else raw[name]
            elif field.initial is not None:
                data[name] = field.initial
        form = self.params_form(data=data)
        if not form.is_valid():
            errors = {name: [str(m) for m in msgs] for name, msgs in form.errors.items()}
            name, messages = next(iter(errors.items()))
            where = "params" if name == "__all__" else f"params.{name}"
            raise InvalidJobParams(f"{where}: {messages[0]}", detail=errors)
        # Store what JSON can hold, exactly as the worker will read it back.
        return json.loads(json.dumps(form.cleaned_data, cls=DjangoJSONEncoder))


def _is_flag(field: forms.Field) -> bool:
    return isinstance(field, forms.BooleanField)


def _coerce_flag(name: str, value: Any) -> Any:
    # A form checkbox reads any non-empty string as true; "--param strict=0" must mean false.
    # The words are those of ``core.parsing.parse_bool``, as for import records; blank is None,
    # which the form reads as false.
    if not isinstance(value, str):
        return value
    try:
        return parse_bool(value)
    except ValueError:
        raise InvalidJobParams(
            f"params.{name}: expected true or false, not {value!r}.",
            detail={name: ["Expected true or false."]},
        ) from None


_registry: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Add a kind; refuses a second kind with the same name."""
    if kind.name in _registry and _registry[kind.name] is not kind:
        raise ValueError(f"job kind {kind.name!r} is registered already")
    _registry[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _registry.pop(name, None)


@contextmanager
def registered(kind: JobKind) -> Iterator[JobKind]:
    """Register ``kind`` for the duration of a ``with`` block (tests, benchmarks)."""
    register(kind)
    try:
        yield kind
    finally:
        unregister(kind.name)


def get_kind(name: Any) -> JobKind:
    """The kind called ``name``, or ``UnknownJobKind`` listing the known ones."""
    if isinstance(name, str) and name in _registry:
        return _registry[name]
    known = ", ".join(sorted(_registry))
    raise UnknownJobKind(f"kind: unknown job kind {name!r} (known: {known}).")


def all_kinds() -> list[JobKind]:
    return sorted(_registry.values(), key=lambda k: k.name)
