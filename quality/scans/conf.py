"""Settings of the code-quality scans, with their defaults."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings

from background_tasks.conf import AppSettings

scan_settings = AppSettings(
    prefix="QUALITY_SCAN_",
    defaults={
        # The repository the scans read (default: the project's BASE_DIR).
        "ROOT": None,
        # The folder of the rules files, relative to ROOT unless absolute.
        "RULES_DIR": ".architecture-rules",
        # Longest a ruff or `check --deploy` subprocess may run, in seconds.
        "SUBPROCESS_TIMEOUT": 300,
        # The settings module `check --deploy` loads (production settings).
        "DEPLOY_SETTINGS_MODULE": "wizamart.settings",
        # Keep each file's findings (and ruff's cache) across scans: an unchanged file is not parsed again.
        "CACHE": True,
        # Where the cache lives (default: a folder of this user's in the system's temporary directory).
        "CACHE_DIR": None,
    },
)


def scan_root() -> Path:
    """Return the repository root the scans read."""
    return Path(scan_settings.ROOT or settings.BASE_DIR).resolve()


def rules_dir(root: Path) -> Path:
    folder = Path(scan_settings.RULES_DIR)
    return folder if folder.is_absolute() else root / folder


def cache_dir() -> Path | None:
    """Return the folder of the scans' cache, or None when the cache is turned off."""
    if not scan_settings.CACHE:
        return None
    if scan_settings.CACHE_DIR:
        return Path(scan_settings.CACHE_DIR)
    folder = Path(tempfile.gettempdir()) / f"wizamart-code-quality-{os.getuid()}"
    # The temporary directory is shared: a folder of that name that another user made is not trusted.
    if folder.exists() and folder.stat().st_uid != os.getuid():
        return None
    return folder
