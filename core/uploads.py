"""A cap on uploaded files (``UPLOAD_MAX_BYTES``): Django streams uploads to disk with no limit
of its own. Over the cap the upload stops, the file is dropped, and the request is marked so
the view can say why (``upload_refused``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest


def upload_refused(request: HttpRequest) -> str | None:
    """Why an upload of this request was dropped, or None."""
    return getattr(request, "_upload_refused", None)


class CappedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts each file's bytes and passes them on."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        cap = settings.UPLOAD_MAX_BYTES
        if start + len(raw_data) > cap:
            if self.request is not None:
                self.request._upload_refused = (  # type: ignore[attr-defined]
                    f"The file is larger than {cap:,} bytes (UPLOAD_MAX_BYTES); nothing was kept."
                )
            # Read (and discard) the rest of the body so the connection stays usable.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> Any:
        return None  # the next handler (memory or temporary file) builds the file
