"""Errors of the library app (users' playlists and plays)."""

from __future__ import annotations

from typing import Any

from rest_framework import status

from core.exceptions import ApplicationError, Conflict, ValidationFailed


class LibrarySyncUnavailable(ApplicationError):
    """The connection cannot be synced now; ``reason`` says why (a stable word):

    * ``needs_reauth``: Spotify refused the refresh token, or it is gone: connect again.
    * ``expired``: the refresh token's 6 months are over: connect again.
    * ``paused``: Spotify asked every process to pause (a 429); ``retry_after`` seconds.
    """

    code = "library_sync_unavailable"
    http_status = status.HTTP_409_CONFLICT
    default_message = "This Spotify connection cannot be synced now."

    def __init__(
        self, message: str | None = None, *, reason: str, retry_after: int | None = None
    ) -> None:
        detail: dict[str, Any] = {"reason": reason}
        if retry_after is not None:
            detail["retry_after"] = retry_after
        super().__init__(message, detail=detail)
        self.reason = reason
        self.retry_after = retry_after


class UnknownSyncKind(ValidationFailed):
    code = "invalid"
    default_message = "what: expected plays, playlists or all."


class HistoryFileInvalid(ValidationFailed):
    """An uploaded streaming-history file is refused; the message names the file and why.
    Nothing of the upload is imported."""

    code = "history_file_invalid"
    default_message = "A streaming history file is not valid."


class HistoryImportBusy(Conflict):
    code = "history_import_running"
    default_message = (
        "An import of your streaming history is already running; upload again when it ends."
    )


class UploadTooLarge(ApplicationError):
    """The whole upload is over LIBRARY_HISTORY_MAX_UPLOAD_BYTES: refused before reading it."""

    code = "upload_too_large"
    http_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_message = "files: the upload is larger than this server accepts; upload fewer files."
