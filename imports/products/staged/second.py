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


# How many items of a shared series the second connection may run ahead of the job's: far enough
# that it is never idle while the job's connection does a batch's own work (its records for
# Python, its skus), near enough that an import stopped midway has written little it did not count.
LEAD = 2


class Share:
    """A series of items run by one statement on both connections: each item is taken once, in
    order, by whichever connection is free; the second stays at most ``lead`` items ahead of the
    job's, and answers the items it took, in order, on its own queue."""

    def __init__(self, sql: str, items: list, lead: int = LEAD):
        self.sql, self.items, self.lead = sql, items, lead
        self.answers: queue.SimpleQueue = queue.SimpleQueue()
        self._next = 0  # the first item not taken
        self._here = 0  # the item the job's connection is at
        self._stopped = False
        self._cond = threading.Condition()

    def arrive(self, index: int) -> None:
        """The job's connection is at item ``index`` (the second may run up to ``lead`` items past it)."""
        with self._cond:
            self._here = index
            self._cond.notify_all()

    def take_here(self, index: int) -> bool:
        """Take item ``index`` for the job's connection, unless the second took it (False)."""
        with self._cond:
            mine = self._next == index
            if mine:
                self._next += 1
            return mine

    def take_ahead(self, index: int) -> int | None:
        """While the second runs item ``index``: the item after it, for the job's connection to run
        meanwhile, if nobody took it; else None (one at a time: the second may take the others)."""
        with self._cond:
            if self._stopped or self._next >= len(self.items) or self._next > index + 1:
                return None
            self._next += 1
            return self._next - 1

    def answered(self) -> bool:
        """Whether the second connection's next answer (or error) is in."""
        return not self.answers.empty()

    def take_second(self) -> int | None:
        """The next item for the second connection, once it is not too far ahead; None when none is left."""
        with self._cond:
            while not self._stopped and self._next < len(self.items) and self._next > self._here + self.lead:
                self._cond.wait()
            if self._stopped or self._next >= len(self.items):
                return None
            self._next += 1
            return self._next - 1

    def stop(self) -> None:
        """Take no more items on the second connection (the series ended, or was left)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


class SecondConnection:
    """A second database connection, in a thread, running the statements it is given in order.

    ``result()`` answers the statements submitted with ``answer`` set, in order; an error stops
    the thread and is raised by the next ``result()``. ``share()`` gives it a series of items
    to share with the job's connection (``Share``): it answers those on the share's queue.
    """

    def __init__(self):
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._answers: queue.SimpleQueue = queue.SimpleQueue()
        self._share: Share | None = None
        self._thread = threading.Thread(target=self._run, name="product-import-second", daemon=True)
        self._thread.start()

    def submit(self, sql: str, params, answer: bool = False) -> None:
        self._todo.put((sql, params, answer))

    def share(self, share: Share) -> None:
        self._todo.put(share)

    def result(self, share: Share | None = None):
        item = (share.answers if share is not None else self._answers).get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        if self._share is not None:
            self._share.stop()
        self._todo.put(None)
        self._thread.join()

    def _run(self) -> None:
        second = None
        try:
            second = connections.create_connection(DEFAULT_DB_ALIAS)
            with second.cursor() as cursor:
                while (item := self._todo.get()) is not None:
                    if isinstance(item, Share):
                        self._run_share(cursor, item)
                        continue
                    sql, params, answer = item
                    cursor.execute(sql, params)
                    if answer:
                        self._answers.put(cursor.fetchone() if cursor.description else None)
        except BaseException as exc:  # handed over: the first connection carries on alone
            (self._share.answers if self._share is not None else self._answers).put(exc)
        finally:
            if second is not None:
                second.close()

    def _run_share(self, cursor, share: Share) -> None:
        self._share = share
        while (index := share.take_second()) is not None:
            cursor.execute(share.sql, share.items[index])
            share.answers.put(cursor.fetchone() if cursor.description else None)
        self._share = None


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

    def answer(self, share: Share | None = None):
        """The second connection's answer to the statement it was given last (True if it returns no
        row), or to its next item of ``share``; None when there is none: then it is no longer used."""
        if self.second is None:
            return None
        try:
            answer = self.second.result(share)
        except Exception as exc:  # noqa: BLE001 - whatever stopped it, this connection does the work
            logger.warning("The second connection stopped (%s): the import goes on with one", exc)
            self.close()
            return None
        return True if answer is None else answer

    def alternate(self, sql: str, items: list, here: Callable) -> Iterator:
        """Yield the outcome of ``sql`` for each of ``items``, in order. Each item is run once, by
        whichever connection is free: the second takes the next item nobody took as soon as it is
        done with one (up to LEAD items ahead of this one); this one runs the item it comes to by
        ``here`` unless the second took it, and while the second runs that, the item after it if
        nobody took it (its outcome kept for its turn)."""
        if self.second is None or len(items) < 2:
            yield from (here(item) for item in items)
            return
        share = Share(sql, items)
        self.second.share(share)
        ran: dict[int, object] = {}  # outcomes of the items this connection ran before their turn
        try:
            for index, item in enumerate(items):
                share.arrive(index)
                while index not in ran:
                    if self.second is None or share.take_here(index):
                        ran[index] = here(item)
                    elif not share.answered() and (ahead := share.take_ahead(index)) is not None:
                        ran[ahead] = here(items[ahead])
                    else:
                        found = self.answer(share)  # None: the second stopped at this item
                        ran[index] = found if found is not None else here(item)
                yield ran.pop(index)
        finally:
            share.stop()

    def close(self) -> None:
        if self.second is not None:
            self.second.close()
            self.second = None
