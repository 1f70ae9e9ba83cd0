"""The unified API's contract: trigger body, status body, list filters, errors, trailing slashes."""
import pytest

from background_tasks.services import background_task_create
from background_tasks.status import TaskStatus
from wizamart.marketplace.models import SubscriptionMaintenanceRun

pytestmark = pytest.mark.django_db

STATUS_KEYS = {
    "id",
    "task_type",
    "status",
    "progress_percent",
    "progress_message",
    "created_at",
    "started_at",
    "completed_at",
    "triggered_by",
    "error_message",
    "error_detail",
    "details",
}


@pytest.fixture
def pending_job(settings):
    # No commit inside the test transaction: the job stays pending.
    return background_task_create(model=SubscriptionMaintenanceRun, triggered_by="manual:alice")


@pytest.fixture
def completed_job(run_on_commit):
    job = run_on_commit(background_task_create, model=SubscriptionMaintenanceRun, triggered_by="api:bob")
    job.refresh_from_db()
    return job


def test_trigger_answers_the_seed_202_body(staff_client):
    response = staff_client.post("/api/v1/marketplace/subscription-maintenance")

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"job_id", "task_type", "status", "message", "status_url"}
    assert body["task_type"] == "subscription_maintenance"
    assert body["status"] == TaskStatus.PENDING
    assert body["message"] == "Task queued successfully"
    assert body["status_url"] == f"/api/v1/admin/background-tasks/{body['job_id']}"


def test_status_body_has_the_standard_fields_and_details(staff_client, completed_job):
    response = staff_client.get(f"/api/v1/admin/background-tasks/{completed_job.pk}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == STATUS_KEYS
    assert body["id"] == completed_job.pk
    assert body["status"] == TaskStatus.COMPLETED
    assert body["progress_percent"] == 100
    assert body["triggered_by"] == "api:bob"
    assert body["error_message"] is None
    assert body["started_at"] and body["completed_at"]
    assert set(body["details"]["counts"]) == {"expired_trials", "expired_at_period_end", "renewed", "past_due"}


def test_pending_job_has_no_start_yet(staff_client, pending_job):
    body = staff_client.get(f"/api/v1/admin/background-tasks/{pending_job.pk}").json()

    assert body["status"] == TaskStatus.PENDING
    assert body["started_at"] is None
    assert body["completed_at"] is None


def test_every_path_answers_with_and_without_trailing_slash(staff_client, completed_job):
    for path in (
        "/api/v1/admin/background-tasks",
        f"/api/v1/admin/background-tasks/{completed_job.pk}",
    ):
        assert staff_client.get(path).status_code == 200
        assert staff_client.get(path + "/").status_code == 200
    assert staff_client.post("/api/v1/marketplace/subscription-maintenance/").status_code == 202


def test_list_is_newest_first_and_limited(staff_client, run_on_commit):
    jobs = [
        run_on_commit(background_task_create, model=SubscriptionMaintenanceRun, triggered_by="manual:t")
        for _ in range(3)
    ]

    body = staff_client.get("/api/v1/admin/background-tasks?limit=2").json()

    assert [item["id"] for item in body] == [jobs[2].pk, jobs[1].pk]
    assert all(set(item) == STATUS_KEYS for item in body)


def test_list_default_limit_is_50(staff_client):
    for _ in range(52):
        background_task_create(model=SubscriptionMaintenanceRun, triggered_by="manual:t")

    assert len(staff_client.get("/api/v1/admin/background-tasks").json()) == 50


def test_list_filters_by_status_and_type(staff_client, pending_job, completed_job):
    pending = staff_client.get("/api/v1/admin/background-tasks?status=pending").json()
    completed = staff_client.get(
        "/api/v1/admin/background-tasks?status=completed&task_type=subscription_maintenance"
    ).json()

    assert [item["id"] for item in pending] == [pending_job.pk]
    assert [item["id"] for item in completed] == [completed_job.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("task_type=nonsense", "task_type"),
        ("status=processing", "status"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
    ],
)
def test_bad_filters_are_400_with_field_errors(staff_client, query, field):
    response = staff_client.get(f"/api/v1/admin/background-tasks?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_unknown_id_is_404(staff_client):
    for method, path in (
        ("get", "/api/v1/admin/background-tasks/999999"),
        ("post", "/api/v1/admin/background-tasks/999999/cancel"),
        ("post", "/api/v1/admin/background-tasks/999999/retry"),
    ):
        response = getattr(staff_client, method)(path)
        assert response.status_code == 404
        assert "999999" in response.json()["detail"]


def test_cancel_pending_job(staff_client, pending_job):
    response = staff_client.post(f"/api/v1/admin/background-tasks/{pending_job.pk}/cancel")

    assert response.status_code == 202
    assert response.json()["status"] == TaskStatus.CANCELLED
    pending_job.refresh_from_db()
    assert pending_job.status == TaskStatus.CANCELLED


def test_cancel_finished_job_is_409(staff_client, completed_job):
    response = staff_client.post(f"/api/v1/admin/background-tasks/{completed_job.pk}/cancel")

    assert response.status_code == 409
    assert "completed" in response.json()["detail"]


def test_retry_cancelled_job_runs_it_again(staff_client, pending_job, django_capture_on_commit_callbacks):
    staff_client.post(f"/api/v1/admin/background-tasks/{pending_job.pk}/cancel")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/api/v1/admin/background-tasks/{pending_job.pk}/retry/")

    assert response.status_code == 202
    assert response.json()["job_id"] == pending_job.pk
    pending_job.refresh_from_db()
    assert pending_job.status == TaskStatus.COMPLETED
    assert pending_job.triggered_by.startswith("api:")


def test_retry_completed_job_is_409(staff_client, completed_job):
    assert staff_client.post(f"/api/v1/admin/background-tasks/{completed_job.pk}/retry").status_code == 409


def new_jobs_of_every_kind(vendor, rounds: int) -> list:
    """Create ``rounds`` pending jobs of each of six types, interleaved (nothing runs)."""
    from exports.models import ProductExportJob
    from imports.models import MarketplaceImportJob
    from tests.testapp.models import DemoJob, FailJob, SleepJob

    kinds = [
        (SubscriptionMaintenanceRun, {}),
        (ProductExportJob, {"vendor": vendor}),
        (MarketplaceImportJob, {"vendor": vendor, "source_url": "https://feeds.example/p.csv"}),
        (DemoJob, {}),
        (SleepJob, {}),
        (FailJob, {}),
    ]
    return [
        background_task_create(model=model, triggered_by="test", dispatch=False, **fields)
        for _ in range(rounds)
        for model, fields in kinds
    ]


def ids_in_job_tables() -> list[tuple[int, str]]:
    """Every (id, task_type) of every job table."""
    from background_tasks.registry import task_models

    return [(pk, task_type) for task_type, model in task_models().items() for pk in model.objects.values_list("pk", flat=True)]


def assert_ids_unique_and_registered(jobs):
    from background_tasks.models import TaskRef

    stored = ids_in_job_tables()
    assert len({pk for pk, _ in stored}) == len(stored) >= len(jobs)
    assert {(job.pk, job.task_type) for job in jobs} <= set(stored)
    # Each job's TaskRef row names its table's type, and there is no TaskRef without its job.
    assert set(TaskRef.objects.values_list("pk", "task_type")) == set(stored)


def test_job_ids_are_unique_across_types(completed_job):
    from tests.factories import VendorFactory

    jobs = [completed_job, *new_jobs_of_every_kind(VendorFactory(), rounds=3)]

    assert len({job.task_type for job in jobs}) == 6
    assert_ids_unique_and_registered(jobs)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_job_ids_stay_unique_across_types_when_created_concurrently():
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    from tests.factories import VendorFactory

    vendor = VendorFactory()
    start = Barrier(4)

    def create_in_own_connection(_):
        start.wait()  # all four threads insert at once
        try:
            return new_jobs_of_every_kind(vendor, rounds=5)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        jobs = [job for batch in pool.map(create_in_own_connection, range(4)) for job in batch]

    assert len(jobs) == 4 * 5 * 6
    assert_ids_unique_and_registered(jobs)


def test_schema_and_docs_are_served_without_internet(staff_client):
    schema = staff_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = staff_client.get("/api/v1/docs/")

    assert schema.status_code == 200
    assert "/api/v1/admin/background-tasks/{job_id}" in schema.json()["paths"]
    assert docs.status_code == 200
    # The Swagger UI assets come from the sidecar package, served locally.
    assert b"drf_spectacular_sidecar" in docs.content
    assert b"cdn.jsdelivr" not in docs.content


def test_browsable_api_renders_for_staff(staff_client, completed_job):
    response = staff_client.get(f"/api/v1/admin/background-tasks/{completed_job.pk}", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b"subscription_maintenance" in response.content
