"""The readable sentence a job's unexpected failure ends with; the technical cause goes to the logs and the job."""
from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator

from django.db import DatabaseError, InterfaceError

from .jobs import clip_message

DATABASE_LOST = "The connection to the database was lost while the job ran. Run it again once the database is back."
BROKER_DOWN = "The task queue (Redis) could not be reached while the job ran. Run it again once the queue is back."
FILE_UNREADABLE = "The file could not be read: it is missing, unreadable, or was removed while the job ran."
NOT_TEXT = "The file could not be read as text: it is not in an encoding the job understands (use UTF-8)."
FIELD_TOO_LARGE = (
    "A field in the file is larger than {limit} characters: the file is probably not a CSV file, "
    "or a quote is opened and never closed."
)
STORAGE_DOWN = "The file storage (the S3 bucket) could not be reached. Try again once it is back."
STORAGE_REFUSED = "The file storage (the S3 bucket) refused the request ({code}): check the bucket and its credentials."
OUT_OF_MEMORY = "The job ran out of memory and was stopped."
# The technical cause stored on the job (error_detail) is cut here: a driver may quote a whole statement.
DETAIL_MAX = 2000
TIME_LIMIT = "Stopped by the time limit: the job ran longer than the {limit} its workers allow."

# What drivers say when the server went away (psycopg, libpq, SQLite); any InterfaceError says so too.
_CONNECTION_LOST = re.compile(
    r"server closed the connection|connection (is |was |has been )?(closed|lost|reset|refused)|terminating connection"
    r"|could not connect|consuming input failed|sending copy data failed|SSL SYSCALL|no connection to the server"
    r"|connection to server .* failed|the connection is lost",
    re.IGNORECASE,
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Yield the exception and the ones it was raised from (drivers' errors hide behind Django's)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _database_lost(exc: BaseException) -> str | None:
    if isinstance(exc, InterfaceError) or (_is_database_error(exc) and _CONNECTION_LOST.search(str(exc))):
        return DATABASE_LOST
    return None


def _is_database_error(exc: BaseException) -> bool:
    if isinstance(exc, DatabaseError):
        return True
    module = type(exc).__module__
    return module.startswith(("psycopg", "sqlite3")) and type(exc).__name__.endswith("Error")


def _broker_down(exc: BaseException) -> str | None:
    from kombu.exceptions import OperationalError as KombuOperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    if isinstance(exc, (KombuOperationalError, RedisConnectionError, RedisTimeoutError)):
        return BROKER_DOWN
    return None


def _file_unreadable(exc: BaseException) -> str | None:
    if isinstance(exc, UnicodeDecodeError):
        return NOT_TEXT
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)) or (
        isinstance(exc, OSError) and getattr(exc, "filename", None)
    ):
        return FILE_UNREADABLE
    return None


def storage_failure(exc: BaseException) -> str | None:
    """The sentence for a bucket that cannot be reached or refuses (None: not a storage error)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        return STORAGE_REFUSED.format(code=exc.response.get("Error", {}).get("Code") or "error")
    if isinstance(exc, BotoCoreError):
        return STORAGE_DOWN
    return None


def _field_too_large(exc: BaseException) -> str | None:
    if isinstance(exc, csv.Error):
        found = re.search(r"field larger than field limit \((\d+)\)", str(exc))
        if found:
            return FIELD_TOO_LARGE.format(limit=f"{int(found.group(1)):,}")
    return None


def _out_of_memory(exc: BaseException) -> str | None:
    return OUT_OF_MEMORY if isinstance(exc, MemoryError) else None


def _time_limit(exc: BaseException) -> str | None:
    from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

    if isinstance(exc, (SoftTimeLimitExceeded, TimeLimitExceeded)):
        return TIME_LIMIT.format(limit=_time_limit_text())
    return None


def _time_limit_text() -> str:
    from celery import current_app

    seconds = current_app.conf.task_time_limit
    if not seconds:
        return "time"
    hours, minutes = divmod(int(seconds) // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


# Checked in order against the exception and each of its causes; the first sentence found wins.
RULES: tuple[Callable[[BaseException], str | None], ...] = (
    _time_limit,
    _database_lost,
    _broker_down,
    _field_too_large,
    _file_unreadable,
    storage_failure,
    _out_of_memory,
)


def readable_failure(exc: BaseException) -> str:
    """Return the sentence a user reads for an unexpected exception (one line, no driver text)."""
    for cause in _causes(exc):
        for rule in RULES:
            sentence = rule(cause)
            if sentence:
                return sentence
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return clip_message(f"Unexpected error ({type(exc).__name__})" + (f": {first_line}" if first_line else ""), 500)


def technical_cause(exc: BaseException) -> str:
    """Return the exception chain as one text for staff (the notification, the task's result)."""
    return "\n".join(f"{type(cause).__name__}: {str(cause).strip()}" for cause in _causes(exc))


def clip_detail(text: str, limit: int = DETAIL_MAX) -> str:
    """Return a technical cause as the job stores it: its lines kept, at most ``limit`` characters."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
