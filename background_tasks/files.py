"""Private files (uploads, error reports, exports): where they are stored, how jobs read them, how staff get them."""
from __future__ import annotations

from typing import BinaryIO

from django.core.files.storage import Storage, storages
from django.http import FileResponse

DOWNLOAD_BLOCK = 256 * 1024


def private_storage() -> Storage:
    """The "private" storage: a local folder by default, the bucket when AWS_STORAGE_BUCKET_NAME is set."""
    return storages["private"]


def open_stream(name: str) -> BinaryIO:
    """Open a stored file for reading front to back, as it arrives; FileNotFoundError if it is not stored.

    A bucket's object is read over one GET as it is consumed (never downloaded whole first), so
    every caller may open the file again for another pass.
    """
    storage = private_storage()
    opener = getattr(storage, "open_stream", None)
    return opener(name) if opener is not None else storage.open(name, "rb")


def stored_file_response(name: str, *, filename: str, content_type: str) -> FileResponse:
    """Stream a private file to the client as an attachment; FileNotFoundError if it is not stored.

    Callers check permissions first. The bytes pass through the web process (nginx buffers them
    for slow clients): the bucket is never exposed, not even by a presigned URL.
    """
    stream = open_stream(name)
    response = FileResponse(stream, as_attachment=True, filename=filename, content_type=content_type)
    response.block_size = DOWNLOAD_BLOCK
    size = getattr(getattr(stream, "raw", None), "size", None)
    if "Content-Length" not in response and size is not None:
        response["Content-Length"] = str(size)
    response["Cache-Control"] = "private, no-store"
    return response
