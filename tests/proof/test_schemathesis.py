"""schemathesis over Encore's own OpenAPI schema, as anonymous, a plain user and staff.

Every operation gets generated requests (valid and invalid, within the bounds and enums the
schema carries); every answer must be a non-5xx status documented for that operation, with
the documented content type and a body that validates against the documented schema. The run
is bounded (``FUZZ_EXAMPLES`` per operation and role) so that it fits CI; ``bench/fuzz_api.py``
runs the same checks for longer against gunicorn.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import responses
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = ["anonymous", "user", "staff"]
# Requests sent and answers by status class, for bench/fuzz_api.py's figures.
SENT: dict[str, int] = {}


def _schema() -> dict[str, Any]:
    # Generated in process: the same document /api/schema/ serves, whoever may read it.
    generated: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return generated


schema = schemathesis.openapi.from_dict(_schema())
schema.app = application


@pytest.fixture
def auth_headers(request, db, django_user_model) -> dict[str, str]:
    from rest_framework.authtoken.models import Token

    role = request.param
    if role == "anonymous":
        return {}
    user = django_user_model.objects.create_user(
        username=f"fuzz-{role}", password="pw-fuzz-1", is_staff=role == "staff"
    )
    token, _ = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


@pytest.fixture
def keep_connection():
    """The WSGI app closes the database connection after each request (as gunicorn would);
    here that connection holds the test's transaction, so keep it, as Django's test client
    does."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def spotify_refuses():
    """Spotify is not there: any call the generated requests cause fails at once."""
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        yield


@pytest.mark.parametrize("auth_headers", ROLES, indirect=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,  # nothing written to .hypothesis/: derandomized runs need no memory
)
def test_api_conforms_to_its_schema(case, request, auth_headers, keep_connection, spotify_refuses):
    if case.path.startswith("/api/songs/"):
        request.getfixturevalue("demo_catalog")  # something to find (loaded once per test)
    response = case.call_and_validate(headers=auth_headers, checks=CHECKS)
    status = f"{response.status_code // 100}xx"
    SENT[status] = SENT.get(status, 0) + 1
