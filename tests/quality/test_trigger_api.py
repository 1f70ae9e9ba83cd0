"""The trigger: POST /api/v1/quality/test-runs validates the selection (400 field errors) and starts one run at a time."""
import threading

import pytest
from django.db import IntegrityError, connection
from rest_framework.test import APIClient

from background_tasks.services import background_task_cancel, background_task_create
from background_tasks.status import TaskStatus
from quality.models import TestRun
from quality.test_runs import services

from .conftest import wait_for_end
from .helpers import PASSING, SLOW

URL = "/api/v1/quality/test-runs"


@pytest.mark.django_db
def test_trigger_answers_202_with_the_seed_body(staff_client):
    response = staff_client.post(
        URL, {"paths": [PASSING, "quality/sample_suite/failing/test_failing.py::test_raises"], "keyword": "not slow"},
        format="json",
    )

    assert response.status_code == 202, response.json()
    body = response.json()
    run = TestRun.objects.get(pk=body["job_id"])
    assert body == {
        "job_id": run.pk,
        "task_type": "test_run",
        "status": "pending",
        "message": "Task queued successfully",
        "status_url": f"/api/v1/admin/background-tasks/{run.pk}",
    }
    # Paths are stored under tests/, as pytest is given them.
    assert run.paths == [PASSING, "tests/quality/sample_suite/failing/test_failing.py::test_raises"]
    assert run.keyword == "not slow"
    assert run.triggered_by.startswith("api:")


@pytest.mark.django_db
def test_trigger_without_a_body_selects_the_whole_suite(staff_client):
    response = staff_client.post(URL + "/", format="json")

    assert response.status_code == 202
    run = TestRun.objects.get(pk=response.json()["job_id"])
    assert (run.paths, run.keyword, run.markers, run.maxfail) == ([], "", "", None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"paths": ["../manage.py"]}, "paths"),
        ({"paths": ["tests/../manage.py"]}, "paths"),
        ({"paths": ["tests/quality/../../wizamart/settings.py"]}, "paths"),
        ({"paths": ["/etc/passwd"]}, "paths"),
        ({"paths": ["~/secrets.py"]}, "paths"),
        ({"paths": ["--help"]}, "paths"),
        ({"paths": ["-p", "evil_plugin"]}, "paths"),
        ({"paths": ["--rootdir=/"]}, "paths"),
        ({"paths": ["tests/quality; rm -rf /"]}, "paths"),
        ({"paths": ["tests/quality $(id)"]}, "paths"),
        ({"paths": ["tests\\quality"]}, "paths"),
        ({"paths": ["tests/does_not_exist.py"]}, "paths"),
        ({"paths": ["wizamart/settings.py"]}, "paths"),
        ({"paths": ["tests/quality/test_trigger_api.py::test_x; ls"]}, "paths"),
        ({"paths": ["tests/quality::test_x"]}, "paths"),
        ({"paths": [""]}, "paths"),
        ({"paths": "tests/quality"}, "paths"),
        ({"paths": ["tests/quality"] * 51}, "paths"),
        ({"keyword": "-p evil"}, "keyword"),
        ({"keyword": "a; rm -rf /"}, "keyword"),
        ({"keyword": "caf\u00e9"}, "keyword"),
        ({"keyword": "a\nb"}, "keyword"),
        ({"keyword": ["a"]}, "keyword"),
        ({"paths": [" tests/quality"]}, "paths"),
        ({"paths": ["tests/quality\u0000"]}, "paths"),
        ({"paths": [["tests/quality"]]}, "paths"),
        ({"keyword": "x" * 201}, "keyword"),
        ({"markers": "--collect-only"}, "markers"),
        ({"markers": "slow $HOME"}, "markers"),
        ({"maxfail": 0}, "maxfail"),
        ({"maxfail": -3}, "maxfail"),
        ({"maxfail": "1; ls"}, "maxfail"),
    ],
)
def test_a_hostile_selection_is_refused_with_a_field_error(staff_client, payload, field):
    response = staff_client.post(URL, payload, format="json")

    assert response.status_code == 400
    body = response.json()
    assert field in body, body
    assert not TestRun.objects.exists()


@pytest.mark.django_db
def test_a_symlink_out_of_the_tests_folder_is_refused(staff_client, settings, tmp_path):
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (tmp_path / "outside.py").write_text("def test_x(): pass\n")
    (root / "tests" / "link.py").symlink_to(tmp_path / "outside.py")
    settings.BASE_DIR = root

    response = staff_client.post(URL, {"paths": ["tests/link.py"]}, format="json")

    assert response.status_code == 400
    assert "does not exist under tests/" in response.json()["paths"][0]


@pytest.mark.django_db
def test_a_second_trigger_answers_200_with_the_run_under_way(staff_client):
    first = staff_client.post(URL, {"paths": [PASSING]}, format="json")
    second = staff_client.post(URL, {"paths": [SLOW]}, format="json")

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["job_id"] == first.json()["job_id"]
    assert second.json()["status"] == "pending"
    assert second.json()["message"] == "A test run is already pending or running: this is that run"
    assert TestRun.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_run():
    background_task_create(model=TestRun, triggered_by="cli:tester", dispatch=False)

    with pytest.raises(IntegrityError):
        background_task_create(model=TestRun, triggered_by="cli:tester", dispatch=False)


@pytest.mark.django_db
def test_retrying_a_failed_run_while_another_is_active_answers_409(staff_client):
    old = background_task_create(model=TestRun, triggered_by="cli:tester", dispatch=False)
    TestRun.objects.filter(pk=old.pk).update(status=TaskStatus.FAILED)
    active = background_task_create(model=TestRun, triggered_by="cli:tester", dispatch=False)

    response = staff_client.post(f"/api/v1/admin/background-tasks/{old.pk}/retry")

    assert response.status_code == 409
    assert "another test run is already active" in response.json()["detail"]
    assert TestRun.objects.get(pk=old.pk).status == TaskStatus.FAILED
    assert TestRun.objects.get(pk=active.pk).status == TaskStatus.PENDING


@pytest.mark.django_db
def test_a_finished_run_does_not_block_the_next():
    old = background_task_create(model=TestRun, triggered_by="cli:tester", dispatch=False)
    TestRun.objects.filter(pk=old.pk).update(status=TaskStatus.FAILED)

    trigger = services.test_run_create(triggered_by="cli:tester", paths=[PASSING])

    assert trigger.created and trigger.run.pk != old.pk


def test_triggers_at_the_same_moment_get_one_run(pool, staff_user):
    """Four clients trigger at once: one run is created; every client is answered with it."""
    barrier = threading.Barrier(4)
    answers = []

    def trigger():
        client = APIClient()
        client.force_login(staff_user)
        barrier.wait()
        response = client.post(URL, {"paths": [SLOW]}, format="json")
        answers.append((response.status_code, response.json()["job_id"]))
        connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(code for code, _ in answers) == [200, 200, 200, 202]
    assert len({job_id for _, job_id in answers}) == 1
    run = TestRun.objects.get()
    background_task_cancel(job=run, cancelled_by="tester")
    assert wait_for_end(run).status == TaskStatus.CANCELLED
