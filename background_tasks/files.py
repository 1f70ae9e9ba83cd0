"""Private files (uploads, error reports, exports): where they are stored, how jobs read them, how staff get them."""
from __future__ import annotations

from typing import BinaryIO

from django.core.files.storage import Storage, storages
from django.db import transaction
from django.http import FileResponse

from .models import PendingUpload

DOWNLOAD_BLOCK = 256 * 1024
UPLOAD_EXPIRED_MESSAGE = "The uploaded file has expired; upload it again."


class UploadExpired(Exception):
    """A pending upload is gone: pruned after PENDING_UPLOAD_HOURS (or deleted), so no job can take it."""

    def __init__(self, message: str = UPLOAD_EXPIRED_MESSAGE):
        super().__init__(message)


def private_storage() -> Storage:
    """The "private" storage: a local folder by default, the bucket when AWS_STORAGE_BUCKET_NAME is set."""
    return storages["private"]


def pending_upload_store(name: str, content) -> str:
    """Store ``content`` under ``name`` as a pending upload (no job has it yet); return the name stored.

    The row is written first, so a file whose process dies half-way is still found by the prune.
    """
    pending = PendingUpload.objects.create(name=name)
    stored = private_storage().save(name, content)
    if stored != name:
        PendingUpload.objects.filter(pk=pending.pk).update(name=stored)
    return stored


def pending_upload_discard(name: str) -> None:
    """Delete a pending upload that will have no job (its file and its row)."""
    private_storage().delete(name)
    PendingUpload.objects.filter(name=name).delete()


def pending_upload_claim(name: str) -> None:
    """Take a pending upload for the job about to be created; raise UploadExpired if it is gone.

    Call it in the transaction that creates the job: the row's deletion is the claim (a prune
    deleting the same row waits for it, or has deleted the file first and this finds none).
    A file that never was a pending upload is taken as it is, while it is stored.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("pending_upload_claim() must run in the transaction that creates the job.")
    PendingUpload.objects.filter(name=name).delete()
    if not private_storage().exists(name):
        raise UploadExpired()


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
