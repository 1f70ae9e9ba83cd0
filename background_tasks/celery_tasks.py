"""Celery tasks: one per job type (created from the registry), the sweep, and scheduled starts."""
from __future__ import annotations

import logging
import os
import time

from celery import shared_task
from celery.exceptions import Ignore
from celery.signals import before_task_publish, task_prerun, worker_init
from django.db import InterfaceError, OperationalError, connections

from .backend_priority import name_worker_connections
from .registry import celery_task_name, get_task_model, task_models
from .schedules import SENT_AT_HEADER
from .status import TaskStatus

logger = logging.getLogger(__name__)

_registered: set[str] = set()


@worker_init.connect(dispatch_uid="background_tasks_lower_worker_priority")
def lower_worker_priority(**kwargs) -> None:
    """Lower the worker's CPU priority (its pool processes inherit it): pages and polls go first.

    BACKGROUND_TASKS["WORKER_NICENESS"] (default 19) is added to the process's niceness; 0 keeps it.
    A job on a busy machine then takes the CPU the web process leaves, instead of an equal share.
    """
    from .conf import task_settings

    niceness = int(task_settings.WORKER_NICENESS)
    if niceness > 0:
        now = os.nice(niceness)
        logger.info("Worker CPU priority lowered: niceness %d", now)
        if _lower_session_group(now):
            logger.info("Worker session's scheduling group lowered too: niceness %d", now)
    # Its database work runs in PostgreSQL backends: named, so that `renice_job_backends` finds them.
    name_worker_connections()


def _lower_session_group(niceness: int) -> bool:
    """Give the worker's own session's scheduling group the niceness too, where there is one.

    With Linux's autogroup scheduling (on by default in most distributions), every session
    outside a CPU cgroup is a group of its own: the CPU is shared between the groups first,
    and a process's niceness only orders it within its group. A worker started in a session of
    its own (a supervisor, `setsid`) would otherwise weigh as much as the web server's session
    however nice it is. Only the session's leader does this, so that a worker started from a
    terminal never lowers the shell that started it. (In a container or a systemd service, CPU
    cgroups share the CPU instead: compose gives the workers `cpu_shares`.)
    """
    if os.getsid(0) != os.getpid():
        return False
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as flag:
            if flag.read().strip() != "1":
                return False
        with open("/proc/self/autogroup", "w") as group:
            group.write(str(niceness))
    except OSError:
        return False
    return True


@task_prerun.connect(dispatch_uid="background_tasks_drop_broken_connections")
def drop_broken_connections(**kwargs) -> None:
    """Close a kept database connection that failed in an earlier task and is dead.

    CELERY_DB_REUSE_MAX keeps each worker process's connection across tasks; after a
    database restart it would otherwise stay broken for the next thousand tasks.
    """
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn.errors_occurred:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()


class JobEndedFailed(Exception):
    """Raised by a job's task when the job ended failed, so that its result reads FAILURE as the job does."""


# The result state of a delivery that did not get its job: another delivery of it ran or runs it.
DUPLICATE = "DUPLICATE"


def _run_job(task_type: str, job_id: int, celery_task_id: str) -> str:
    from .services import background_task_run

    model = get_task_model(task_type)
    try:
        return background_task_run(model=model, job_id=job_id, celery_task_id=celery_task_id)
    except (InterfaceError, OperationalError) as exc:
        # The connection kept from an earlier task died before the claim could be written (the
        # job's own errors never get here): reconnect once. A job that had already started is
        # skipped by the claim and left to the reaper.
        logger.warning("%s #%s: database connection lost (%s); reconnecting", task_type, job_id, exc)
        connections.close_all()
        return background_task_run(model=model, job_id=job_id, celery_task_id=celery_task_id)


def settle_task_result(task, *, model, job_id: int, status: str) -> str:
    """Make the task's result say what happened to the job: return a success, or raise to record the rest.

    A delivery that lost the claim records nothing under the job's own task id (the run that holds
    it writes that result) and DUPLICATE under any other id (Flower: rejected); a failed job's task
    fails; a cancelled job's task reads REVOKED (Flower too).
    """
    from .services import SKIPPED

    task_id = task.request.id
    if status == SKIPPED:
        holder = model.objects.filter(pk=job_id).values_list("celery_task_id", flat=True).first()
        if task_id and holder != task_id:
            task.update_state(state=DUPLICATE, meta={"duplicate_of_job": job_id, "job_task_id": holder})
            _tell_monitors(task, "task-rejected", requeue=False, reason=f"duplicate of job {job_id}")
        logger.info("%s #%s: delivery %s skipped, the job is run by %s", model.task_type, job_id, task_id, holder)
        raise Ignore()
    if status == TaskStatus.FAILED:
        error = model.objects.filter(pk=job_id).values_list("error_message", flat=True).first()
        raise JobEndedFailed(f"{model.task_type} #{job_id} failed: {error}")
    if status == TaskStatus.CANCELLED:
        if task_id:
            task.backend.mark_as_revoked(task_id, reason=f"{model.task_type} #{job_id} was cancelled", request=task.request)
            _tell_monitors(task, "task-revoked", terminated=False, expired=False, signum=None)
        raise Ignore()
    return status


def _tell_monitors(task, event: str, **fields) -> None:
    """Send a task event so that Flower shows the end an ignored task had (it sends none of its own)."""
    if task.request.is_eager or not task.app.conf.worker_send_task_events:
        return
    try:
        task.send_event(event, retry=False, **fields)
    except Exception as exc:  # a monitor missing an event must not fail the task
        logger.info("Could not send %s for %s: %s", event, task.request.id, exc)


def _make_job_task(task_type: str):
    def run_job(self, job_id: int) -> str:
        status = _run_job(task_type, job_id, self.request.id)
        return settle_task_result(self, model=get_task_model(task_type), job_id=job_id, status=status)

    run_job.__name__ = run_job.__qualname__ = task_type
    run_job.__doc__ = f"Run one {task_type} job, given its id."
    # No STARTED result row: the job row already says running, and a STARTED row of a killed
    # worker would stay STARTED forever. The final result is still stored. A failed job is an
    # expected outcome: logged without a traceback (the job's failure was logged already).
    return shared_task(
        bind=True, name=celery_task_name(task_type), ignore_result=False, track_started=False, throws=(JobEndedFailed,)
    )(run_job)


def register_job_tasks() -> None:
    """Create the Celery task of every job type the registry knows (idempotent)."""
    for task_type in task_models():
        if task_type not in _registered:
            _make_job_task(task_type)
            _registered.add(task_type)


@shared_task(name="background_tasks.sweep", ignore_result=True)
def sweep() -> str:
    """Publish jobs that never reached a queue and reap jobs whose worker died."""
    from .sweep import background_tasks_sweep

    return str(background_tasks_sweep())


@before_task_publish.connect(dispatch_uid="background_tasks_stamp_beat_messages")
def stamp_beat_messages(headers=None, **kwargs) -> None:
    """Stamp a beat message with the time it was sent: every beat sending the same tick stamps it alike."""
    if headers is not None and headers.get("periodic_task_name") and SENT_AT_HEADER not in headers:
        headers[SENT_AT_HEADER] = time.time()


def _header(request, name: str):
    """Return a message header: a worker puts them on the request, an eager call under request.headers."""
    return getattr(request, name, None) or (request.headers or {}).get(name)


RUN_SCHEDULED = "background_tasks.run_scheduled"


def route_scheduled_start(name, args, kwargs, options, task=None, **kw) -> dict | None:
    """Route a scheduled start to its task type's queue (a schedule naming a queue of its own still wins).

    A schedule added in the admin with no queue would otherwise land on the default queue.
    """
    if name != RUN_SCHEDULED:
        return None
    task_type = (kwargs or {}).get("task_type")
    model = get_task_model(task_type) if isinstance(task_type, str) else None
    return {"queue": model.queue} if model is not None else None


@shared_task(bind=True, name=RUN_SCHEDULED, throws=(JobEndedFailed,))
def run_scheduled(self, task_type: str) -> dict:
    """Create the job of ``task_type`` for this tick of its schedule (or find it) and run it in this worker."""
    from .schedules import scheduled_job_for_message
    from .services import background_task_run

    model = get_task_model(task_type)
    if model is None:
        raise ValueError(f"Unknown task type {task_type!r}")
    job = scheduled_job_for_message(
        model=model,
        task_id=self.request.id,
        schedule=_header(self.request, "periodic_task_name") or "",
        sent_at=_header(self.request, SENT_AT_HEADER),
    )
    status = background_task_run(model=model, job_id=job.pk, celery_task_id=self.request.id)
    status = settle_task_result(self, model=model, job_id=job.pk, status=status)
    return {"job_id": job.pk, "task_type": task_type, "status": status}
