"""A failure notification links to the job that failed (its job id, not the notification's own id)."""
import re

import pytest
from django.urls import reverse

from background_tasks.models import AdminNotification
from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from tests.testapp.models import DemoJob

pytestmark = pytest.mark.django_db

NOTIFICATIONS = "admin:background_tasks_adminnotification_changelist"


@pytest.fixture
def failed_job(run_on_commit):
    # Earlier notifications, so that the new one's id is not the job's id by chance.
    AdminNotification.objects.bulk_create(AdminNotification(title=f"old #{n}") for n in range(3))
    job = run_on_commit(background_task_create, model=DemoJob, triggered_by="manual:test", steps=2, fail_at_step=0)
    job.refresh_from_db()
    assert job.status == TaskStatus.FAILED
    return job


@pytest.mark.parametrize("persona", ["admin_client", "clerk_client"])
def test_notification_links_to_the_failed_job(request, persona, failed_job):
    client = request.getfixturevalue(persona)
    note = AdminNotification.objects.get(job_id=failed_job.pk)
    assert note.pk != failed_job.pk

    page = client.get(reverse(NOTIFICATIONS)).content.decode()

    job_url = reverse("admin:testapp_demojob_change", args=[failed_job.pk])
    wrong_url = reverse("admin:testapp_demojob_change", args=[note.pk])
    assert f'<a href="{job_url}">#{failed_job.pk}</a>' in page
    assert wrong_url not in page


def test_unified_list_links_each_row_to_its_job(admin_client, failed_job):
    page = admin_client.get(reverse("admin:background_tasks_unifiedtask_changelist")).content.decode()

    job_url = reverse("admin:testapp_demojob_change", args=[failed_job.pk])
    assert re.search(rf'<a href="{re.escape(job_url)}">#{failed_job.pk}</a>', page)
