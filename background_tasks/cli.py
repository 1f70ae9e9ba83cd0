"""Helpers for management commands: who triggered, and following a job with a progress bar."""
from __future__ import annotations

import getpass
import time

from django.core.management.base import CommandError
from tqdm import tqdm

from .conf import use_celery
from .models import BackgroundTask


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
