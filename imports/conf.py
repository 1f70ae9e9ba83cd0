"""Settings of the imports app (``IMPORTS_*``), with their defaults in one place."""
from background_tasks.conf import AppSettings

imports_settings = AppSettings(
    prefix="IMPORTS_",
    defaults={
        # Largest feed accepted as an upload or a download, in bytes.
        "MAX_UPLOAD_SIZE": 512 * 1024 * 1024,
        "MAX_DOWNLOAD_SIZE": 512 * 1024 * 1024,
        # Seconds a feed download may take in all (and each network wait).
        "DOWNLOAD_TIMEOUT": 300.0,
        # Allow feed URLs on loopback/private addresses (tests serve feeds on 127.0.0.1).
        "ALLOW_PRIVATE_URLS": False,
        # Rows written per transaction.
        "BATCH_SIZE": 5_000,
        # Use COPY and one set-based upsert per batch on PostgreSQL (False: the portable ORM path).
        "USE_COPY": True,
        # With COPY: let PostgreSQL read the CSV file and convert its plain rows (files it cannot read
        # exactly as Python's csv module does are read in Python); False: every row is read in Python.
        "PARSE_IN_DATABASE": True,
        # When PostgreSQL reads the file: check its rows on a second database connection as well,
        # two ranges at once (the job then holds two connections for a moment).
        "SECOND_CONNECTION": True,
    },
)


def human_size(size: int) -> str:
    """Return a byte count as people read it: '512 MB', '1.5 KB'."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"
