"""A second database connection that shares the staged import's statements with the job's own."""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)


def local(settings: str) -> str:
    """The same settings for the current transaction only (the second connection sets them for its session)."""
    return settings.replace("SET ", "SET LOCAL ")


class SecondConnection:
    """A second database connection, in a thread, running the statements it is given in order.

    ``result()`` answers the statements submitted with ``answer`` set, in order; an error stops
    the thread and is raised by the next ``result()``.
    """

    def __init__(self):
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._answers: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="product-import-second", daemon=True)
        self._thread.start()

    def submit(self, sql: str, params, answer: bool = False) -> None:
        self._todo.put((sql, params, answer))

    def result(self):
        item = self._answers.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._todo.put(None)
        self._thread.join()

    def _run(self) -> None:
        second = None
        try:
            second = connections.create_connection(DEFAULT_DB_ALIAS)
            with second.cursor() as cursor:
                while (item := self._todo.get()) is not None:
                    sql, params, answer = item
                    cursor.execute(sql, params)
                    if answer:
                        self._answers.put(cursor.fetchone() if cursor.description else None)
        except BaseException as exc:  # handed over: the first connection carries on alone
            self._answers.put(exc)
        finally:
            if second is not None:
                second.close()


class SharedWork:
    """The job's connection and, while it works, a second one: a series of statements shared by both.

    A second connection sees only what is committed, so it is used outside the caller's
    transaction only. Should it fail, the job's connection carries on alone (with a warning).
    """

    def __init__(self, *, enabled: bool):
        self.second: SecondConnection | None = SecondConnection() if enabled else None

    def submit(self, sql: str, params=None, *, answer: bool = False) -> None:
        """Give the second connection a statement, if it still works."""
        if self.second is not None:
            self.second.submit(sql, params, answer)

    def answer(self):
        """The second connection's answer to the statement it was given last (True if it returns no
        row), or None when there is none: then it is no longer used."""
        if self.second is None:
            return None
        try:
            answer = self.second.result()
        except Exception as exc:  # noqa: BLE001 - whatever stopped it, this connection does the work
            logger.warning("The second connection stopped (%s): the import goes on with one", exc)
            self.close()
            return None
        return True if answer is None else answer

    def alternate(self, sql: str, items: list, here: Callable) -> Iterator:
        """Yield the outcome of ``sql`` for each of ``items``, in order: every other one is run on the
        second connection (one ahead, while the one before runs here), the others by ``here``."""
        if self.second is not None and len(items) > 1:
            self.second.submit(sql, items[1], answer=True)
        for index, item in enumerate(items):
            found = self.answer() if index % 2 else None
            if found is not None and index + 2 < len(items):
                self.second.submit(sql, items[index + 2], answer=True)
            yield found if found is not None else here(item)

    def close(self) -> None:
        if self.second is not None:
            self.second.close()
            self.second = None
