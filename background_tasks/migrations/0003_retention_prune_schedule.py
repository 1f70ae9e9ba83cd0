"""Store the nightly retention prune schedule in the database (editable in the admin)."""
import json

from django.db import migrations

TASK_NAME = "Nightly retention prune"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="45", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "background_tasks.run_scheduled",
            "crontab": crontab,
            "kwargs": json.dumps({"task_type": "retention_prune"}),
            "queue": "scheduled",
            "enabled": True,
            "description": 'Delete the files, then the rows, of finished jobs past BACKGROUND_TASKS["RETENTION"].',
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("background_tasks", "0002_retention_prune_run"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
