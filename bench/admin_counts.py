"""Bench: the unified page's counts per type and status, capped (what the page polls) vs exact GROUP BY."""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wizamart.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from background_tasks.selectors import COUNTS_CAP, background_tasks_service  # noqa: E402
from background_tasks.status import TaskStatus  # noqa: E402
from wizamart.marketplace.models import SubscriptionMaintenanceRun  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
REPEAT = 5


class Rollback(Exception):
    pass


def timed(func) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("Run on PostgreSQL: DATABASE_URL=postgres://... (a migrated database)")
    table = SubscriptionMaintenanceRun._meta.db_table
    statuses = [s.value for s in TaskStatus.terminal()]
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""INSERT INTO {table} (id, status, created_at, triggered_by, progress_percent,
                        progress_message, attempts, cancel_requested, counts)
                    SELECT -g, (%s::text[])[1 + g %% %s], now(), 'bench', 100, '', 1, false, '{{}}'
                    FROM generate_series(1, %s) g""",
                    [statuses, len(statuses), ROWS],
                )
                cursor.execute(f"ANALYZE {table}")
            exact = timed(lambda: background_tasks_service.count_by_status_and_type())
            capped = timed(lambda: background_tasks_service.count_by_status_and_type(cap=COUNTS_CAP))
            raise Rollback
    except Rollback:
        pass
    print(f"{ROWS:,} jobs of one type, median of {REPEAT}:")
    print(f"  exact GROUP BY status      {exact * 1000:8.1f} ms")
    print(f"  capped at {COUNTS_CAP:,} per status  {capped * 1000:8.1f} ms")
    print(f"  ratio exact / capped       {exact / capped:8.1f}x")


if __name__ == "__main__":
    main()
