"""The private bucket: django-storages' S3 backend with private objects, read as streams."""
from __future__ import annotations

import io

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, setting

MB = 1024 * 1024
# Uploads of more than 8 MB go up in 8 MB parts, at most 4 at a time: memory stays bounded (~32 MB).
PRIVATE_TRANSFER = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=4)
# A read that loses its connection is taken up again where it stopped, this many times.
RESUMES = 3
STREAM_BUFFER = 256 * 1024
MISSING = {"NoSuchKey", "404", "NotFound"}
BROKEN_BODY = (IncompleteReadError, ResponseStreamingError, ReadTimeoutError)


class PrivateS3Storage(S3Storage):
    """The bucket of uploads, error reports and exports: never public, never overwritten, streamed.

    ``AWS_*`` settings configure it as django-storages documents, with other defaults: objects get
    the ``private`` ACL, URLs are presigned, a name already taken gets a new one, uploads go up in
    bounded parts (PRIVATE_TRANSFER).
    """

    def get_default_settings(self):
        return {
            **super().get_default_settings(),
            "default_acl": setting("AWS_DEFAULT_ACL", "private"),
            "querystring_auth": setting("AWS_QUERYSTRING_AUTH", True),
            "file_overwrite": setting("AWS_S3_FILE_OVERWRITE", False),
            "transfer_config": setting("AWS_S3_TRANSFER_CONFIG", PRIVATE_TRANSFER),
        }

    def open_stream(self, name: str) -> io.BufferedReader:
        """Open the object for one read front to back; raise FileNotFoundError if it is not stored.

        S3File (``open()``) would download the whole object into memory first; this reads it as it
        arrives over HTTP.
        """
        key = self._normalize_name(clean_name(name))
        return io.BufferedReader(ObjectStream(self.connection.meta.client, bucket=self.bucket_name, key=key), STREAM_BUFFER)


class ObjectStream(io.RawIOBase):
    """An object's bytes as a GET's body delivers them; ``size`` is the object's length.

    A body that breaks off (a connection dropped while the reader paused) is taken up again with a
    ranged GET from the byte reached, pinned to the object's ETag so that a replaced object never
    mixes in.
    """

    def __init__(self, client, *, bucket: str, key: str):
        self._client, self._bucket, self._key = client, bucket, key
        self._position = 0
        self._resumes = 0
        answer = self._get()
        self.size: int = answer["ContentLength"]
        self._etag: str = answer["ETag"]
        self._body = answer["Body"]

    def _get(self, **extra) -> dict:
        try:
            return self._client.get_object(Bucket=self._bucket, Key=self._key, **extra)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(f"No such stored file: {self._key}") from None
            raise

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self.size:
            return 0
        while True:
            try:
                data = self._body.read(len(buffer))
                break
            except BROKEN_BODY:
                if self._resumes >= RESUMES:
                    raise
                self._resume()
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _resume(self) -> None:
        self._resumes += 1
        self._body.close()
        self._body = self._get(Range=f"bytes={self._position}-", IfMatch=self._etag)["Body"]

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
