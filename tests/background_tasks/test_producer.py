"""The bounded producer thread: items in order, its exception handed over, bounded, stopped with the consumer."""
import itertools
import threading
import time

import pytest

from background_tasks.producer import Producer

HANG = 10  # seconds after which a call that should return at once is taken for a hang


def finishes(call) -> bool:
    """Run ``call`` in a thread; whether it returned before HANG seconds."""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(HANG)
    return not thread.is_alive()


def wait_for(predicate) -> None:
    deadline = time.monotonic() + HANG
    while not predicate():
        assert time.monotonic() < deadline, "the producer never got there"
        time.sleep(0.01)


def test_items_arrive_in_order_and_the_source_is_made_in_another_thread():
    threads = set()

    def source():
        for number in range(50):
            threads.add(threading.get_ident())
            yield number

    with Producer(source(), ahead=3) as items:
        assert list(items) == list(range(50))
    assert threads and threading.get_ident() not in threads


def test_the_exception_is_raised_to_the_consumer_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("row 3 is broken")

    received = []
    with pytest.raises(ValueError, match="row 3 is broken"), Producer(source()) as items:
        for item in items:
            received.append(item)
    assert received == [1, 2]


def test_an_exception_object_is_an_item_like_any_other():
    error = KeyError("data, not a failure")
    with Producer([error, 1]) as items:
        assert list(items) == [error, 1]


def test_the_producer_stays_at_most_ahead_items_in_advance():
    made = []

    def counted():
        for number in itertools.count():
            made.append(number)
            yield number

    with Producer(counted(), ahead=2) as items:
        # Two wait in the queue and a third is made, waiting for room.
        wait_for(lambda: len(made) == 3)
        time.sleep(0.3)  # several of the producer's polls: it makes nothing more while nothing is taken
        assert len(made) == 3
        assert next(items) == 0
        wait_for(lambda: len(made) == 4)
        time.sleep(0.3)
        assert len(made) == 4


def test_the_producer_stops_and_closes_its_source_in_its_thread_when_the_consumer_stops():
    closed_in = []

    def endless():
        try:
            yield from itertools.count()
        finally:
            closed_in.append(threading.get_ident())

    items = Producer(endless(), ahead=1, name="test-producer")
    assert next(items) == 0
    assert finishes(items.close)
    assert not any(thread.name == "test-producer" for thread in threading.enumerate())
    assert closed_in and closed_in[0] != threading.get_ident()
    with pytest.raises(StopIteration):
        next(items)


def test_a_consumer_that_fails_does_not_wait_for_the_producer():
    def endless():
        yield from itertools.count()

    def consume():
        with Producer(endless(), ahead=1, name="abandoned-producer") as items:
            for item in items:
                if item == 5:
                    raise RuntimeError("the consumer's COPY failed")

    outcome = []

    def run() -> None:
        try:
            consume()
        except RuntimeError as exc:
            outcome.append(exc)

    assert finishes(run)
    assert len(outcome) == 1
    assert not any(thread.name == "abandoned-producer" for thread in threading.enumerate())


def test_a_failing_source_never_leaves_the_consumer_waiting_even_when_nothing_is_taken():
    def broken():
        raise OSError("the file went away")
        yield  # pragma: no cover - makes this a generator

    items = Producer(broken(), ahead=1)
    time.sleep(0.2)
    assert finishes(items.close)


def test_ahead_must_be_positive():
    with pytest.raises(ValueError):
        Producer([], ahead=0)
