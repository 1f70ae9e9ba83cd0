"""The CPU priority of the Celery workers' PostgreSQL backends.

A job's database work runs in its PostgreSQL backend, a process of the database server, not of
the worker: lowering the worker's own priority (``WORKER_NICENESS``) leaves that work competing
with the backends that answer pages and status polls. Workers name their connections
``WORKER_APPLICATION_NAME`` (``application_name``, visible in ``pg_stat_activity``), and
``renice_job_backends``, run beside PostgreSQL as its OS user (or as root), gives those backends
the same low priority (a new one at once: its connection notifies ``NEW_BACKEND_CHANNEL``).
Nothing else about the backends changes: a job on an idle machine runs as fast as before; on a
busy one it takes the CPU the web's queries leave.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from django.db import DatabaseError, connections
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

WORKER_APPLICATION_NAME = "background-tasks-worker"
# A worker's new connection says so on this channel: the command lowers its backend at once,
# instead of letting a job's first seconds run at the server's priority.
NEW_BACKEND_CHANNEL = "background_tasks_worker_backend"


def name_worker_connections() -> None:
    """Make every PostgreSQL connection this process opens from now on say it is a worker's.

    Called when a Celery worker starts, before its pool processes fork: their connections,
    and those of their heartbeat threads, carry the name. An explicit ``application_name`` in
    the database's OPTIONS wins.
    """
    for alias in connections:
        settings_dict = connections.settings[alias]
        if "postgresql" not in settings_dict["ENGINE"]:
            continue
        settings_dict.setdefault("OPTIONS", {}).setdefault("application_name", WORKER_APPLICATION_NAME)
        # A connection the worker opened while starting keeps its old name: open it again.
        connections[alias].close()
    connection_created.connect(_announce_backend, dispatch_uid="background_tasks_announce_worker_backend")


def _announce_backend(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    if connection.settings_dict.get("OPTIONS", {}).get("application_name") != WORKER_APPLICATION_NAME:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {NEW_BACKEND_CHANNEL}")
    except DatabaseError:  # only a hint: the command's own checks find the backend too
        logger.debug("Could not announce a new worker backend", exc_info=True)


@dataclass
class Round:
    """What one pass over the workers' backends did."""

    lowered: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    not_visible: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return len(self.lowered) + len(self.already) + len(self.not_visible) + len(self.refused)


def _is_that_backend(pid: int, client_port: int | None) -> bool:
    """Whether process ``pid`` here is the PostgreSQL backend serving that client.

    The backend's process title names its client (``host(port)``, or ``[local]`` over a Unix
    socket): a process of another PID namespace that happens to have the same number is left alone.
    """
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            title = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return False
    if not title.startswith("postgres"):
        return False
    if client_port is None or client_port < 0:
        return "[local]" in title
    return f"({client_port})" in title


def lower_worker_backends(niceness: int, *, using: str = "default") -> Round:
    """Give every backend of a worker connection to this database at least ``niceness``."""
    result = Round()
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT pid, client_port FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database() AND pid <> pg_backend_pid()",
            [WORKER_APPLICATION_NAME],
        )
        backends = cursor.fetchall()
    for pid, client_port in backends:
        if not _is_that_backend(pid, client_port):
            result.not_visible.append(pid)
            continue
        try:
            if os.getpriority(os.PRIO_PROCESS, pid) >= niceness:
                result.already.append(pid)
                continue
            os.setpriority(os.PRIO_PROCESS, pid, niceness)
        except ProcessLookupError:  # the connection closed meanwhile
            continue
        except PermissionError:
            result.refused.append(pid)
            continue
        result.lowered.append(pid)
    return result
