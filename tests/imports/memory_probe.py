"""Run in a subprocess by test_bucket_memory: import one job (or read its feed whole) and print the peak memory added.

Usage: python -m tests.imports.memory_probe import|whole JOB_ID copy|portable
"""
import json
import sys
from pathlib import Path


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def main(action: str, job_id: int, path: str) -> dict:
    import django

    django.setup()
    from django.conf import settings

    from background_tasks.files import private_storage
    from background_tasks.services import background_task_run
    from imports.models import MarketplaceImportJob

    settings.IMPORTS_USE_COPY = path == "copy"
    settings.IMPORTS_BATCH_SIZE = 50
    job = MarketplaceImportJob.objects.get(pk=job_id)
    storage = private_storage()
    storage.size(job.source_file)  # loads boto3 and its models before the baseline
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    baseline = rss_kb("VmRSS")
    if action == "whole":
        with storage.open(job.source_file, "rb") as handle:  # django-storages' S3File
            handle.read(1)
        status = None
    else:
        status = background_task_run(model=MarketplaceImportJob, job_id=job_id)
    return {"status": status, "added_kb": rss_kb("VmHWM") - baseline}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
