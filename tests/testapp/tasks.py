"""The bare Celery peer of TinyJob: the same one-row UPDATE, with no job row around it."""
from celery import shared_task
from django.db.models import F

from .models import BenchCounter


@shared_task(name="bench.bare_update", queue="bench")
def bare_update(counter_id: int) -> None:
    BenchCounter.objects.filter(pk=counter_id).update(value=F("value") + 1)
