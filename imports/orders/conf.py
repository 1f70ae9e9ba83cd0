"""Settings of the order import, with their defaults (read at access time)."""
from background_tasks.conf import AppSettings

orders_settings = AppSettings(
    prefix="LETZSHOP_",
    defaults={
        # Shipments asked for a page (the API allows at most 100).
        "PAGE_SIZE": 100,
        # Seconds to connect, and to wait for each read, of one API call.
        "CONNECT_TIMEOUT": 10.0,
        "READ_TIMEOUT": 60.0,
        # Attempts of one page before the job fails, and retries allowed over the whole job.
        "MAX_ATTEMPTS": 6,
        "MAX_TOTAL_RETRIES": 200,
        # Backoff between attempts after a 5xx, a reset or a timeout: exponential from
        # BACKOFF_INITIAL seconds, capped at BACKOFF_MAX, plus up to BACKOFF_JITTER seconds.
        "BACKOFF_INITIAL": 1.0,
        "BACKOFF_MAX": 30.0,
        "BACKOFF_JITTER": 1.0,
        # A Retry-After longer than this fails the job rather than holding a worker idle.
        "MAX_RETRY_AFTER": 900.0,
        # Pages fetched ahead of the one being written (memory stays bounded by it: a page of 100
        # shipments is about 0.6 MB parsed). Enough that a few slow writes do not stall the reads.
        "PREFETCH_PAGES": 8,
        # Largest JSON file of shipments accepted as a source, in bytes.
        "MAX_FILE_SIZE": 256 * 1024 * 1024,
    },
)
