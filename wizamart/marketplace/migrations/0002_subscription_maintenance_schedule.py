"""Store the daily subscription maintenance schedule in the database (editable in the admin)."""
import json

from django.db import migrations

TASK_NAME = "Daily subscription maintenance"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "background_tasks.run_scheduled",
            "crontab": crontab,
            "kwargs": json.dumps({"task_type": "subscription_maintenance"}),
            "queue": "scheduled",
            "enabled": True,
            "description": "Expire ended trials, renew, move unpaid periods to past due, expire cancelled plans.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
