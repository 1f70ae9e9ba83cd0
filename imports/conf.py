"""Settings of the product import, with their defaults."""
from django.conf import settings

DEFAULTS = {
    # Largest feed accepted as an upload or a download, in bytes.
    "IMPORTS_MAX_UPLOAD_SIZE": 512 * 1024 * 1024,
    "IMPORTS_MAX_DOWNLOAD_SIZE": 512 * 1024 * 1024,
    # Seconds a feed download may take in all (and each network wait).
    "IMPORTS_DOWNLOAD_TIMEOUT": 300.0,
    # Allow feed URLs on loopback/private addresses (tests serve feeds on 127.0.0.1).
    "IMPORTS_ALLOW_PRIVATE_URLS": False,
    # Rows written per transaction.
    "IMPORTS_BATCH_SIZE": 5_000,
    # Use COPY and one set-based upsert per batch on PostgreSQL (False: the portable ORM path).
    "IMPORTS_USE_COPY": True,
    # With COPY: let PostgreSQL read the CSV file and convert its plain rows (files it cannot read
    # exactly as Python's csv module does are read in Python); False: every row is read in Python.
    "IMPORTS_PARSE_IN_DATABASE": True,
    # When PostgreSQL reads the file: check its rows on a second database connection as well,
    # two ranges at once (the job then holds two connections for a moment).
    "IMPORTS_SECOND_CONNECTION": True,
}


def import_setting(name: str):
    """Return the setting ``name``, read at call time so tests can override it."""
    return getattr(settings, name, DEFAULTS[name])


def human_size(size: int) -> str:
    """Return a byte count as people read it: '512 MB', '1.5 KB'."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"
