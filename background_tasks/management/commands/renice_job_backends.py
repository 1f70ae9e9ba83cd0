"""Keep the Celery workers' PostgreSQL backends at the workers' low CPU priority (run beside PostgreSQL)."""
import logging
import time

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from background_tasks.backend_priority import NEW_BACKEND_CHANNEL, WORKER_APPLICATION_NAME, lower_worker_backends
from background_tasks.conf import task_settings

logger = logging.getLogger("background_tasks.backend_priority")

NOT_PERMITTED = (
    "Not permitted to lower the priority of PostgreSQL backend {pid}: run this command as "
    "PostgreSQL's operating-system user (or as root) on the database's machine."
)
NOT_HERE = (
    "The workers' PostgreSQL backends are not processes of this machine: run this command on the "
    "database's machine, in its process namespace (compose: pid \"service:postgres\")."
)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class Command(BaseCommand):
    help = (
        f"Give the PostgreSQL backends of Celery workers (application_name {WORKER_APPLICATION_NAME!r}) the "
        'niceness BACKGROUND_TASKS["WORKER_NICENESS"], so that pages and status polls go first on a machine they '
        "share. Run it on the database's machine as PostgreSQL's OS user; it checks again every few seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--niceness", type=int, default=None,
            help='Niceness to give them (default: BACKGROUND_TASKS["WORKER_NICENESS"]); 0 does nothing.',
        )
        parser.add_argument("--every", type=float, default=2.0, help="Seconds between two checks (default 2).")
        parser.add_argument("--once", action="store_true", help="Check once and stop.")
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def handle(self, *args, niceness=None, every=2.0, once=False, database="default", **options):
        niceness = int(task_settings.WORKER_NICENESS) if niceness is None else niceness
        if not 0 <= niceness <= 19:
            raise CommandError("--niceness must be between 0 and 19.")
        if every <= 0:
            raise CommandError("--every must be a positive number of seconds.")
        if connections[database].vendor != "postgresql":
            raise CommandError(f"The database {database!r} is not PostgreSQL: there are no backends to renice.")
        if niceness == 0:
            self.stdout.write("Niceness 0: the workers' backends keep the server's priority.")
            return
        if once:
            self.check_once(niceness, database)
            return
        self.stdout.write(
            f"Keeping the workers' PostgreSQL backends at niceness {niceness} "
            f"(each new one when it connects, and all of them every {every:g} s)."
        )
        warned: set[int] = set()
        listening = None
        while True:
            try:
                if listening is None:
                    listening = self.listen(database)
                result = lower_worker_backends(niceness, using=database)
            except (DatabaseError, psycopg.Error) as exc:
                # The database restarting is no reason to stop: check again after a pause.
                logger.warning("Could not list the workers' backends: %s", _first_line(exc))
                connections[database].close()
                listening = None
                time.sleep(max(every, 5.0))
                continue
            if result.lowered:
                logger.info("Lowered the priority of %d worker backend(s) to niceness %d", len(result.lowered), niceness)
            for pid in result.refused + result.not_visible:
                if pid not in warned:
                    warned.add(pid)
                    logger.warning(NOT_PERMITTED.format(pid=pid) if pid in result.refused else NOT_HERE)
            try:
                # Until a worker's new connection says so, or the next round is due.
                for _ in listening.notifies(timeout=every, stop_after=1):
                    pass
            except psycopg.Error as exc:
                logger.warning("Lost the database connection (%s); connecting again", _first_line(exc))
                connections[database].close()
                listening = None

    @staticmethod
    def listen(database: str):
        """The command's own connection, listening for workers' new backends."""
        wrapper = connections[database]
        wrapper.ensure_connection()
        wrapper.connection.execute(f"LISTEN {NEW_BACKEND_CHANNEL}")
        return wrapper.connection

    def check_once(self, niceness: int, database: str) -> None:
        result = lower_worker_backends(niceness, using=database)
        self.stdout.write(
            f"Worker backends: {result.seen} found, {len(result.lowered)} lowered to niceness {niceness}, "
            f"{len(result.already)} already there."
        )
        if result.refused:
            raise CommandError(NOT_PERMITTED.format(pid=result.refused[0]))
        if result.not_visible:
            raise CommandError(NOT_HERE)
