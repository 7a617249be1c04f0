"""Errors of the job framework, and how the runner tells transient failures from permanent ones."""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from catalog.files import ImportFileError
from core.exceptions import ApplicationError, Conflict, RateLimited, ValidationFailed


class UnknownJobKind(ValidationFailed):
    code = "unknown_kind"
    default_message = "Unknown job kind."


class InvalidJobParams(ValidationFailed):
    code = "invalid_params"
    default_message = "Invalid job parameters."


class JobNotCancellable(Conflict):
    code = "job_finished"
    default_message = "The job has already finished; there is nothing to cancel."


class JobNotRetryable(Conflict):
    code = "job_not_retryable"
    default_message = "Only a failed or cancelled job can be retried."


class JobFailed(ApplicationError):
    """Raised by a job kind to fail its job permanently while still recording a ``result``.

    For outcomes that are failures but have a summary worth keeping (a strict import refused
    because of bad rows: the result lists them).
    """

    code = "job_failed"
    default_message = "The job failed."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, result: dict | None = None
    ) -> None:
        super().__init__(message)
        if code:
            self.code = code
        self.result = result


class TransientJobError(ApplicationError):
    """Raised by a job kind for a failure that may go away by itself (timeout, 5xx, 429).

    The runner retries the job with exponential backoff. Other modules need not subclass it:
    any exception with a true ``transient`` attribute is treated the same way, and may carry
    ``retry_after`` (seconds, e.g. from a 429's ``Retry-After``) as the minimum wait.
    """

    code = "transient"
    transient = True
    default_message = "A temporary failure; the job will be retried."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: flagged ``transient``, a rate limit (429, which
    carries ``retry_after``), or a lost database connection."""
    if getattr(exc, "transient", False):
        return True
    return isinstance(exc, RateLimited | OperationalError | InterfaceError)


def is_pause(exc: BaseException) -> bool:
    """True for a rate limit (a Spotify 429 pause, or the shared budget still spent): the job
    waits until ``retry_after`` and goes on, and the wait is not a failed attempt."""
    return isinstance(exc, RateLimited)


def pause_codes() -> set[str]:
    """The error codes of every rate-limit error: how a past attempt is known to be a pause."""
    codes: set[str] = set()
    pending: list[type[RateLimited]] = [RateLimited]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return codes


def error_code_for(exc: BaseException) -> str:
    """The stable code recorded on the job for an exception."""
    if isinstance(exc, ApplicationError):
        return exc.code
    if isinstance(exc, SoftTimeLimitExceeded):
        return "time_limit"
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    if isinstance(exc, OperationalError | InterfaceError):
        return "database_unavailable"
    return "internal_error"


# Failures that are the input's own (the file lacks a required column or cannot be read, a
# strict import found bad rows, the parameters are wrong): running the job again on the same
# input fails the same way, so the console offers no "Retry" for them (docs/operations.md).
INPUT_FAILURE_CODES = frozenset({ImportFileError.code, "import_refused", InvalidJobParams.code})


def failure_is_input(error_code: str) -> bool:
    """True when a job failed because of its own input: a retry would fail the same way."""
    return error_code in INPUT_FAILURE_CODES
