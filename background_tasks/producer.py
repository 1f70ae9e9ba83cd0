"""A bounded producer thread for job authors: work ahead of the consumer and hand its exception over."""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

# How often a producer waiting for room checks whether the consumer stopped, in seconds.
POLL_INTERVAL = 0.1


class _Finished:
    """The producer's last word: the source ended (``error`` None) or raised ``error``."""

    def __init__(self, error: BaseException | None = None):
        self.error = error


class Producer(Iterator[T], Generic[T]):
    """Iterate ``source`` in a thread, at most ``ahead`` items in advance of the consumer.

    A job whose work alternates Python work (parsing, hashing) with waits on the database or the
    disk (the GIL released) gains by doing the next piece while this one waits. The thread starts
    at once; the consumer iterates this object. Whatever the source raises is raised to the
    consumer, in order, after the items produced before it. ``close()`` (also on leaving a
    ``with`` block, and once the source is exhausted) stops the thread: a producer waiting for room
    gives up within ``POLL_INTERVAL``, and the source is closed in the thread that iterated it (a
    database connection opened there is closed there). The queue holds at most ``ahead`` items, so
    memory stays bounded however slow the consumer is.
    """

    def __init__(self, source: Iterable[T], *, ahead: int = 1, name: str = "producer"):
        if ahead < 1:
            raise ValueError("ahead must be at least 1")
        self._slots: queue.Queue = queue.Queue(maxsize=ahead)
        self._stopping = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._produce, args=(source,), name=name, daemon=True)
        self._thread.start()

    def __iter__(self) -> Producer[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        item = self._slots.get()
        if isinstance(item, _Finished):
            self._finished = True
            self.close()
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the producer and wait for its thread (it finishes the item it is making, if any)."""
        self._finished = True
        self._stopping.set()
        self._thread.join()

    def __enter__(self) -> Producer[T]:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _offer(self, item) -> bool:
        """Put ``item`` in the queue once there is room; False when the consumer stopped meanwhile."""
        while not self._stopping.is_set():
            try:
                self._slots.put(item, timeout=POLL_INTERVAL)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, source: Iterable[T]) -> None:
        items = None
        try:
            items = iter(source)
            for item in items:
                if not self._offer(item):
                    return
            self._offer(_Finished())
        except BaseException as exc:  # handed over: the consumer raises it where it takes the next item
            self._offer(_Finished(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
