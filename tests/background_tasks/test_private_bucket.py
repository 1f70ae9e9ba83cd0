"""The private storage as an S3 bucket (moto's server over HTTP): private objects, multipart uploads, streamed reads."""
import hashlib
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile, File

from background_tasks.files import open_stream, private_storage, stored_file_response
from background_tasks.storage import PrivateS3Storage

MB = 1024 * 1024


def big_file(tmp_path, size: int):
    path = tmp_path / "big.bin"
    with open(path, "wb") as out:
        for block in range(size // MB):
            out.write(bytes([block % 251]) * MB)
    return path


def test_the_bucket_is_the_private_storage_with_private_objects(s3_bucket):
    storage = private_storage()
    name = storage.save("imports/feeds/a.csv", ContentFile(b"id,title\nA,B\n"))

    assert isinstance(storage, PrivateS3Storage)
    assert s3_bucket.keys() == [name]
    grants = s3_bucket.client.get_object_acl(Bucket=s3_bucket.name, Key=name)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers / AuthenticatedUsers grant
    # The storage gives no public URL: only a presigned one that expires within minutes.
    query = parse_qs(urlsplit(storage.url(name)).query)
    assert "X-Amz-Signature" in query and int(query["X-Amz-Expires"][0]) <= 300


def test_a_name_taken_gets_a_new_one_instead_of_overwriting(s3_bucket):
    storage = private_storage()
    first = storage.save("exports/feed.csv", ContentFile(b"first"))
    second = storage.save("exports/feed.csv", ContentFile(b"second"))

    assert first != second
    with open_stream(first) as handle:
        assert handle.read() == b"first"


def test_a_large_file_goes_up_in_parts(s3_bucket, tmp_path):
    path = big_file(tmp_path, 20 * MB)
    with open(path, "rb") as handle:
        name = private_storage().save("imports/feeds/big.csv", File(handle, name="big.csv"))

    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=name)
    assert head["ContentLength"] == 20 * MB
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three 8 MB parts


def test_a_stream_reads_the_object_chunk_by_chunk(s3_bucket, tmp_path):
    path = big_file(tmp_path, 12 * MB)
    with open(path, "rb") as handle:
        name = private_storage().save("imports/feeds/big.csv", File(handle, name="big.csv"))

    digest, reads = hashlib.sha256(), 0
    with open_stream(name) as stream:
        assert stream.raw.size == 12 * MB
        while chunk := stream.read(MB):
            assert len(chunk) <= MB
            digest.update(chunk)
            reads += 1
            assert stream.tell() == min(reads * MB, 12 * MB)
    assert reads == 12
    assert digest.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_stream_broken_off_is_taken_up_where_it_stopped(s3_bucket):
    data = os.urandom(3 * MB)
    name = private_storage().save("imports/feeds/x.csv", ContentFile(data))

    with open_stream(name) as stream:
        first = stream.read(MB)
        stream.raw._body.close()  # the connection drops: the body ends early
        rest = stream.read()
        resumes = stream.raw._resumes

    assert first + rest == data
    assert resumes == 1


def test_a_missing_object_is_file_not_found(s3_bucket):
    with pytest.raises(FileNotFoundError):
        open_stream("imports/feeds/gone.csv")


def test_a_download_streams_from_the_bucket_with_its_length(s3_bucket):
    data = os.urandom(MB + 17)
    name = private_storage().save("exports/feed.csv", ContentFile(data))

    response = stored_file_response(name, filename="feed.csv", content_type="text/csv")

    assert response.streaming
    assert response["Content-Length"] == str(len(data))
    assert response["Content-Disposition"] == 'attachment; filename="feed.csv"'
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == data
    response.file_to_stream.close()  # what the handler does once the body is sent


def private_storage_from_environment(**env) -> str:
    """What the settings make of the environment, in a fresh process: the private storage's class and policy."""
    code = (
        "import django; django.setup(); from django.core.files.storage import storages; s = storages['private'];"
        "print(type(s).__name__, getattr(s, 'default_acl', '-'), getattr(s, 'querystring_auth', '-'),"
        " getattr(s, 'file_overwrite', '-'), getattr(s, 'endpoint_url', '-'))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-c", code], env={**base, "DJANGO_SETTINGS_MODULE": "wizamart.settings", **env},
        capture_output=True, text=True, check=True, timeout=60,
    )
    return done.stdout.strip()


def test_the_bucket_is_used_when_the_environment_names_one():
    assert private_storage_from_environment().startswith("FileSystemStorage ")
    configured = private_storage_from_environment(AWS_STORAGE_BUCKET_NAME="files", AWS_S3_ENDPOINT_URL="http://127.0.0.1:9")
    assert configured == "PrivateS3Storage private True False http://127.0.0.1:9"
    without_acl = private_storage_from_environment(AWS_STORAGE_BUCKET_NAME="files", AWS_DEFAULT_ACL="")
    assert without_acl == "PrivateS3Storage None True False None"
