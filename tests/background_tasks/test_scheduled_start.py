"""Beat's start message creates one job; a redelivery of the same message does not start a second."""
from background_tasks.celery_tasks import run_scheduled
from background_tasks.status import TaskStatus
from tests.testapp.models import SleepJob


def test_scheduled_start_creates_and_runs_a_job(db):
    result = run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-1").get()

    job = SleepJob.objects.get()
    assert result == {"job_id": job.pk, "task_type": SleepJob.task_type, "status": TaskStatus.COMPLETED}
    assert job.triggered_by == "scheduled"
    assert job.celery_task_id == "beat-1"


def test_redelivered_start_message_reuses_its_job(db):
    run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-2").get()

    again = run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-2").get()

    assert SleepJob.objects.count() == 1
    assert again["status"] == "skipped"
    assert SleepJob.objects.get().runs == 1


def test_each_beat_firing_is_its_own_job(db):
    run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-3").get()
    run_scheduled.apply(kwargs={"task_type": SleepJob.task_type}, task_id="beat-4").get()

    assert SleepJob.objects.filter(status=TaskStatus.COMPLETED).count() == 2
