"""Ask the broker which task messages it still has: waiting in a queue, or taken by a worker."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable

logger = logging.getLogger(__name__)

# A queue longer than this is a backlog, not a loss: it is not read (the broker "cannot tell").
MAX_SCANNED = 50_000
INSPECT_TIMEOUT = 1.0


def _task_id(raw: bytes | str) -> str | None:
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if isinstance(message, list):  # an unacked entry: [message, exchange, routing_key]
        message = message[0] if message else {}
    if not isinstance(message, dict):
        return None
    return (message.get("headers") or {}).get("id") or (message.get("properties") or {}).get("correlation_id")


def _queued_ids(channel, queues: Iterable[str]) -> set[str] | None:
    """Return the task ids waiting in ``queues`` or delivered and not yet acked (Redis only, else None)."""
    client = getattr(channel, "client", None)
    if client is None or not hasattr(channel, "_q_for_pri") or not hasattr(channel, "unacked_key"):
        return None
    keys = {channel._q_for_pri(queue, step) for queue in queues for step in channel.priority_steps}
    if sum(client.llen(key) for key in keys) > MAX_SCANNED or client.hlen(channel.unacked_key) > MAX_SCANNED:
        return None
    raw_messages = [raw for key in keys for raw in client.lrange(key, 0, -1)]
    raw_messages += client.hvals(channel.unacked_key)
    return {task_id for task_id in map(_task_id, raw_messages) if task_id}


def _held_ids(app) -> set[str]:
    """Return the task ids workers hold (reserved or running), as they answer a broadcast."""
    inspect = app.control.inspect(timeout=INSPECT_TIMEOUT)
    held: set[str] = set()
    for answer in (inspect.reserved(), inspect.active()):
        for tasks in (answer or {}).values():
            held.update(task["id"] for task in tasks if task.get("id"))
    return held


def task_ids_known_to_broker(queues: Iterable[str]) -> set[str] | None:
    """Return the ids of task messages in ``queues`` or held by a worker; None when the broker cannot say."""
    from .dispatch import celery_app

    app = celery_app()
    try:
        with app.connection_for_read() as conn:
            known = _queued_ids(conn.default_channel, queues)
        if known is None:
            return None
        # Asked after the queues: a message taken between the two questions shows up here.
        return known | _held_ids(app)
    except Exception as exc:  # an unreachable broker raises several types; the sweep tries again later
        logger.warning("Could not ask the broker which messages it holds: %s", exc)
        return None
