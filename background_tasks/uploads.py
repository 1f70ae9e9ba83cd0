"""Upload limits that hold before a file is read: a handler that stops at the limit, and the view wrapper."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.views.decorators.csrf import csrf_exempt


class UploadSizeLimitHandler(FileUploadHandler):
    """Stop reading a request at the first file byte past ``limit``: nothing beyond it is read or spooled.

    It goes first, passing each chunk on to Django's handlers; past the limit it stops the upload
    (the rest of the body stays unread) and sets ``request.upload_over_limit``.
    """

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.request.upload_over_limit = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int):
        return None


def with_upload_limit(view: Callable, *, limit: Callable[[], int]) -> Callable:
    """Wrap a view (CSRF-protected inside) so that its uploads stop at ``limit()`` bytes.

    The handler must be in place before anything reads the body, and the CSRF middleware reads it
    first: so the wrapper is exempt and the wrapped view keeps its own CSRF check (the admin's).
    """

    @wraps(view)
    def limited(request, *args, **kwargs):
        request.upload_over_limit = False
        request.upload_handlers.insert(0, UploadSizeLimitHandler(request, limit=limit()))
        return view(request, *args, **kwargs)

    return csrf_exempt(limited)
