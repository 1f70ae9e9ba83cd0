"""Each BG rule over a small fixture tree: the violation is found at its file and line, the clean tree is not flagged."""
from __future__ import annotations

from .conftest import findings_of

GOOD_JOB = '''
    from django.db import models

    from background_tasks.models import BackgroundTask


    class GoodJob(BackgroundTask):
        task_type = "good_job"
        queue = "long_running"

        rows = models.PositiveIntegerField(default=0)
'''


def test_bg001_clean_job_model_is_not_flagged(fixture_tree):
    fixture_tree.app("jobs", {"models.py": GOOD_JOB})
    assert findings_of(fixture_tree.architecture(), "BG-001") == []


def test_bg001_job_without_task_type_is_found(fixture_tree):
    fixture_tree.app("jobs", {"models.py": GOOD_JOB.replace('task_type = "good_job"', "")})
    result = fixture_tree.architecture()
    assert findings_of(result, "BG-001") == [("jobs/models.py", fixture_tree.line_of("jobs/models.py", "class GoodJob"))]
    assert "task_type" in result.findings[0].message


def test_bg001_letzshop_sync_log_that_looks_like_a_job_is_found(fixture_tree):
    fixture_tree.app(
        "exports",
        {
            "models.py": '''
                from django.db import models


                class LetzshopSyncLog(models.Model):
                    STATUS_CHOICES = [("success", "Success"), ("partial", "Partial")]

                    status = models.CharField(max_length=20, choices=[("success", "Success"), ("partial", "Partial")])
                    timestamp = models.DateTimeField(auto_now_add=True)
            '''
        },
    )
    result = fixture_tree.architecture()
    assert findings_of(result, "BG-001") == [("exports/models.py", 4)]
    message = next(f.message for f in result.findings if f.rule_id == "BG-001")
    assert "does not inherit BackgroundTask" in message and "started_at" in message


def test_bg001_model_with_celery_task_id_but_no_base_is_found(fixture_tree):
    fixture_tree.app(
        "imports",
        {
            "models.py": '''
                from django.db import models


                class HistoricalImport(models.Model):
                    celery_task_id = models.CharField(max_length=255, null=True)
            '''
        },
    )
    assert findings_of(fixture_tree.architecture(), "BG-001") == [("imports/models.py", 4)]


def test_bg001_domain_model_with_its_own_status_enum_is_not_a_job(fixture_tree):
    fixture_tree.app(
        "shop",
        {
            "models.py": '''
                from django.db import models


                class Order(models.Model):
                    class Status(models.TextChoices):
                        CONFIRMED = "confirmed", "Confirmed"
                        SHIPPED = "shipped", "Shipped"

                    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONFIRMED)
            '''
        },
    )
    result = fixture_tree.architecture()
    assert findings_of(result, "BG-001") == [] and findings_of(result, "BG-002") == []


def test_bg002_job_status_literal_is_found(fixture_tree):
    fixture_tree.app(
        "jobs",
        {
            "models.py": GOOD_JOB,
            "services.py": '''
                from .models import GoodJob


                def finish(job):
                    job.status = "completed"
                    return GoodJob.objects.filter(status__in=["failed", "processing"]).count()
            ''',
        },
    )
    result = fixture_tree.architecture()
    assert findings_of(result, "BG-002") == [("jobs/services.py", 5), ("jobs/services.py", 6), ("jobs/services.py", 6)]
    messages = sorted(f.message for f in result.findings if f.rule_id == "BG-002")
    assert any("TaskStatus.COMPLETED" in m for m in messages)
    assert any('"processing" is not an approved job status' in m for m in messages)


def test_bg002_domain_status_literal_on_a_domain_query_is_not_flagged(fixture_tree):
    fixture_tree.app(
        "shop",
        {
            "models.py": '''
                from django.db import models


                class Subscription(models.Model):
                    class Status(models.TextChoices):
                        ACTIVE = "active", "Active"
                        CANCELLED = "cancelled", "Cancelled"

                    status = models.CharField(max_length=20, choices=Status.choices)
            ''',
            "services.py": '''
                from .models import Subscription


                def ended():
                    return Subscription.objects.filter(status="cancelled")
            ''',
        },
    )
    assert findings_of(fixture_tree.architecture(), "BG-002") == []


def test_bg002_job_model_with_its_own_status_values_is_found(fixture_tree):
    fixture_tree.app(
        "jobs",
        {
            "models.py": GOOD_JOB
            + '''
        status = models.CharField(max_length=20, choices=[("pending", "Pending"), ("processing", "Processing")])
'''
        },
    )
    line = fixture_tree.line_of("jobs/models.py", "status = models.CharField")
    assert findings_of(fixture_tree.architecture(), "BG-002") == [("jobs/models.py", line)]


TRIGGER = '''
    from rest_framework import status
    from rest_framework.response import Response

    from background_tasks.api import TaskTriggerViewSet


    class ThingCreateApi(TaskTriggerViewSet):
        def post(self, request):
            return Response({"job_id": 1, "status": "queued"}, status=status.HTTP_202_ACCEPTED)
'''


def test_bg003_trigger_answering_202_is_not_flagged(fixture_tree):
    fixture_tree.app("things", {"api.py": TRIGGER})
    assert findings_of(fixture_tree.architecture(), "BG-003") == []


def test_bg003_job_id_with_another_status_is_found(fixture_tree):
    fixture_tree.app("things", {"api.py": TRIGGER.replace("status.HTTP_202_ACCEPTED", "status.HTTP_201_CREATED")})
    result = fixture_tree.architecture()
    assert findings_of(result, "BG-003") == [("things/api.py", 9)]
    assert "HTTP_201_CREATED" in result.findings[0].message


def test_bg003_job_id_with_the_default_200_is_found(fixture_tree):
    fixture_tree.app("things", {"api.py": TRIGGER.replace(", status=status.HTTP_202_ACCEPTED", "")})
    assert findings_of(fixture_tree.architecture(), "BG-003") == [("things/api.py", 9)]


def test_bg003_a_line_that_allows_the_rule_is_not_flagged_and_others_still_are(fixture_tree):
    allowed = TRIGGER.replace(
        "status=status.HTTP_202_ACCEPTED)", "status=status.HTTP_200_OK)  # architecture: allow BG-003 (answers an active job)"
    )
    fixture_tree.app("things", {"api.py": allowed, "views.py": TRIGGER.replace("status.HTTP_202_ACCEPTED", "status.HTTP_200_OK")})
    assert findings_of(fixture_tree.architecture(), "BG-003") == [("things/views.py", 9)]


def test_an_allowance_names_its_rule(fixture_tree):
    other_rule = TRIGGER.replace("status=status.HTTP_202_ACCEPTED)", "status=status.HTTP_200_OK)  # architecture: allow BG-002")
    fixture_tree.app("things", {"api.py": other_rule})
    assert findings_of(fixture_tree.architecture(), "BG-003") == [("things/api.py", 9)]


def test_bg003_trigger_not_subclassing_the_base_is_found(fixture_tree):
    fixture_tree.app("things", {"api.py": TRIGGER.replace("(TaskTriggerViewSet)", "(GenericViewSet)").replace(
        "from background_tasks.api import TaskTriggerViewSet", "from rest_framework.viewsets import GenericViewSet")})
    assert findings_of(fixture_tree.architecture(), "BG-003") == [("things/api.py", 7)]


def test_bg004_job_model_outside_models_module_and_not_reexported_is_found(fixture_tree):
    fixture_tree.app("quality", {"models.py": "", "scans/__init__.py": "", "scans/models.py": GOOD_JOB})
    assert findings_of(fixture_tree.architecture(), "BG-004") == [("quality/scans/models.py", 6)]


def test_bg004_reexported_job_model_is_registered(fixture_tree):
    fixture_tree.app(
        "quality",
        {"models.py": "from .scans.models import GoodJob  # noqa: F401\n", "scans/__init__.py": "", "scans/models.py": GOOD_JOB},
    )
    assert findings_of(fixture_tree.architecture(), "BG-004") == []


def test_bg004_duplicate_task_type_is_found(fixture_tree):
    fixture_tree.app("jobs", {"models.py": GOOD_JOB + GOOD_JOB.split("\n\n\n")[-1].replace("GoodJob", "OtherJob")})
    result = fixture_tree.architecture()
    assert findings_of(result, "BG-004") == [("jobs/models.py", fixture_tree.line_of("jobs/models.py", "class OtherJob"))]


def test_bg005_task_taking_an_instance_is_found(fixture_tree):
    fixture_tree.app(
        "jobs",
        {
            "tasks.py": '''
                from celery import shared_task


                @shared_task
                def run(job_id: int):
                    return job_id


                @shared_task(bind=True)
                def run_job(self, job, content: bytes):
                    return job
            '''
        },
    )
    assert findings_of(fixture_tree.architecture(), "BG-005") == [("jobs/tasks.py", 10), ("jobs/tasks.py", 10)]


def test_bg006_delay_inside_atomic_is_found_and_on_commit_is_not(fixture_tree):
    fixture_tree.app(
        "jobs",
        {
            "services.py": '''
                from django.db import transaction

                from .tasks import run


                def start_badly(job):
                    with transaction.atomic():
                        job.save()
                        run.delay(job.pk)


                def start_well(job):
                    job.save()
                    transaction.on_commit(lambda: run.delay(job.pk))
            '''
        },
    )
    assert findings_of(fixture_tree.architecture(), "BG-006") == [("jobs/services.py", 9)]


def test_layers_core_importing_a_task_app_or_the_domain_is_found(fixture_tree):
    fixture_tree.write({"background_tasks/selectors.py": "from imports.models import ImportJob\nfrom wizamart.marketplace import models\n"})
    assert findings_of(fixture_tree.architecture(), "BG-007") == [("background_tasks/selectors.py", 1), ("background_tasks/selectors.py", 2)]


def test_layers_task_apps_importing_each_other_is_found_and_the_domain_is_allowed(fixture_tree):
    fixture_tree.app("exports", {"feeds.py": "from imports.products import reading\nfrom wizamart.marketplace.feed import COLUMNS\n"})
    fixture_tree.app("imports", {"products/__init__.py": "", "products/reading.py": "from ..conf import LIMIT\n"})
    assert findings_of(fixture_tree.architecture(), "BG-008") == [("exports/feeds.py", 1)]


def test_a_broken_file_fails_the_validator_with_its_name_and_line(fixture_tree):
    import pytest

    from quality.scans.validators import ValidatorFailed

    fixture_tree.app("jobs", {"models.py": "class Broken(:\n    pass\n"})
    with pytest.raises(ValidatorFailed, match=r"Could not parse jobs/models.py, line 1"):
        fixture_tree.architecture()


def test_bg003_a_class_naming_a_create_service_is_a_trigger_and_must_subclass_the_base(fixture_tree):
    fixture_tree.app(
        "things",
        {
            "api.py": '''
                from rest_framework.viewsets import GenericViewSet

                from .services import thing_create


                class ThingViewSet(GenericViewSet):
                    create_service = staticmethod(thing_create)
            '''
        },
    )
    result = fixture_tree.architecture()
    assert findings_of(result, "BG-003") == [("things/api.py", 6)]
    assert "does not subclass TaskTriggerViewSet" in result.findings[0].message


def test_bg004_a_model_django_knows_but_the_registry_does_not_is_found(fixture_tree):
    """Over the running project, Django's app registry is compared with the BackgroundTasksService."""
    import yaml
    from django.apps import apps

    from background_tasks.models import BackgroundTask
    from background_tasks.registry import task_models
    from quality.scans.validators.base import SourceTree
    from quality.scans.validators.index import ProjectIndex
    from quality.scans.validators.registry_check import registry_findings

    fixture_tree.app("jobs", {"models.py": GOOD_JOB})
    tree = SourceTree(fixture_tree.root)
    index = ProjectIndex(tree)
    rules = yaml.safe_load((fixture_tree.rules / "background_tasks.yaml").read_text())["rules"]
    rule = next(r for r in rules if r["id"] == "BG-004")
    task_models()  # the registry is read once per process: it already holds every model of the project

    meta = type("Meta", (), {"app_label": "testapp"})
    late = type("GoodJob", (BackgroundTask,), {"__module__": "jobs.models", "task_type": "good_job", "Meta": meta})
    try:
        findings = list(registry_findings(tree, index, rule, project_root=fixture_tree.root))
    finally:
        del apps.all_models["testapp"][late._meta.model_name]
        apps.clear_cache()
    assert [(f.rule_id, f.file, f.line) for f in findings] == [("BG-004", "jobs/models.py", 6)]
    assert "not what the registry returns" in findings[0].message
    assert "GoodJob" not in {m.__name__ for m in task_models().values()}


def test_bg001_reads_job_models_wherever_they_are_defined(fixture_tree):
    fixture_tree.app("jobs", {"runs.py": GOOD_JOB.replace('task_type = "good_job"', ""), "models.py": "from .runs import GoodJob  # noqa\n"})
    assert findings_of(fixture_tree.architecture(), "BG-001") == [("jobs/runs.py", 6)]


def test_bg001_a_serializer_with_a_status_choice_is_not_a_model(fixture_tree):
    fixture_tree.app(
        "jobs",
        {
            "api.py": '''
                from rest_framework import serializers


                class JobFilter(serializers.Serializer):
                    status = serializers.ChoiceField(choices=[("pending", "Pending"), ("running", "Running")])
            '''
        },
    )
    result = fixture_tree.architecture()
    assert findings_of(result, "BG-001") == [] and findings_of(result, "BG-002") == []
