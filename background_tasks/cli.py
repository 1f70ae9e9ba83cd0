"""Helpers for management commands: who triggered, input checked as the API does, following a job with a progress bar."""
from __future__ import annotations

import getpass
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files import File
from django.core.management.base import CommandError
from tqdm import tqdm

from .conf import use_celery
from .models import BackgroundTask


@contextmanager
def local_file_input(name: str, *, field: str = "file") -> Iterator[dict]:
    """Yield ``{field: File}`` for a local file, open while the job is created; a CommandError if it cannot be read."""
    path = Path(name)
    if not path.is_file():
        raise CommandError(f"No such file: {name}")
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise CommandError(f"Cannot read {name}: {exc.strerror or exc}") from None
    with handle:
        yield {field: File(handle, name=path.name)}


def validated_input(serializer_class, data: dict) -> dict:
    """The create service's arguments, checked by the type's API serializer; its errors as one CommandError."""
    # The upload limit guards the web server; a local file is read from disk, whatever its size.
    serializer = serializer_class(data=data, context={"max_upload_size": None})
    if not serializer.is_valid():
        raise CommandError(" ".join(str(error) for errors in serializer.errors.values() for error in errors))
    return dict(serializer.validated_data)


def triggered_by_cli() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"cli:{user}"


def must_wait(wait: bool) -> bool:
    """In-process jobs live in this process: the command has to wait for them."""
    return wait or not use_celery()


def follow_job(job: BackgroundTask, *, stdout, poll: float = 0.5, timeout: float | None = None) -> BackgroundTask:
    """Show a progress bar until the job reaches a terminal status; return the job."""
    started = time.monotonic()
    with tqdm(total=100, desc=f"{job.task_type} #{job.pk}", unit="%", file=stdout, leave=True) as bar:
        while True:
            job.refresh_from_db()
            bar.n = job.progress_percent
            bar.set_postfix_str(job.progress_message[:60], refresh=False)
            bar.refresh()
            if job.is_terminal():
                return job
            if timeout is not None and time.monotonic() - started > timeout:
                raise CommandError(f"Gave up waiting after {timeout:.0f}s; job #{job.pk} is still {job.status}.")
            time.sleep(poll)


def describe_outcome(job: BackgroundTask) -> str:
    text = f"Job #{job.pk} ({job.task_type}) {job.get_status_display().lower()}: {job.progress_message}"
    if job.error_message:
        text += f"\nError: {job.error_message}"
    return text


def finish_command(command, job: BackgroundTask) -> None:
    """Print the outcome; a failed or cancelled job makes the command fail."""
    text = describe_outcome(job)
    if job.is_retryable():
        raise CommandError(text)
    command.stdout.write(command.style.SUCCESS(text) if not job.error_message else text)
