"""Celery tasks of exports: the periodic purge of expired export files."""
from celery import shared_task


@shared_task(name="exports.purge_expired_files", ignore_result=True)
def purge_expired_files() -> int:
    """Delete export files past their retention; the jobs keep their record."""
    from .services import product_exports_purge_expired

    return product_exports_purge_expired()
