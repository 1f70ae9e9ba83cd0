"""Settings of the code-quality scans, with their defaults."""
from __future__ import annotations

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
    },
)


def scan_root() -> Path:
    """Return the repository root the scans read."""
    return Path(scan_settings.ROOT or settings.BASE_DIR).resolve()


def rules_dir(root: Path) -> Path:
    folder = Path(scan_settings.RULES_DIR)
    return folder if folder.is_absolute() else root / folder
