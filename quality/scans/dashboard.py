"""The "Code quality" admin page's data: latest results per validator, grouped findings, the history chart."""
from __future__ import annotations

from django.urls import reverse

from background_tasks.admin import POLL_INTERVAL_MS, STATUS_TONES
from background_tasks.status import TaskStatus

from .models import ArchitectureScan, ValidatorType
from .selectors import scan_history, scan_latest_finished, scan_violations_grouped

CHART_HEIGHT = 120
BAR_WIDTH = 22
BAR_GAP = 8
# Findings of each severity shown per file before "and N more".
LINES_SHOWN = 20


def dashboard_config() -> dict:
    """What the page script needs: endpoints, poll interval, terminal statuses (from TaskStatus)."""
    return {
        "runningUrl": reverse("code-quality-scans-running"),
        "triggerUrl": reverse("code-quality-scan-list"),
        "statusUrl": reverse("code-quality-scans-status", kwargs={"scan_id": 0}).replace("/0/", "/__id__/"),
        "pollInterval": POLL_INTERVAL_MS,
        "terminal": list(TaskStatus.terminal()),
        "labels": {status.value: status.label for status in TaskStatus},
        "validators": dict(ValidatorType.choices),
    }


def _bars(scans: list[ArchitectureScan], scale: float) -> list[dict]:
    bars = []
    for position, scan in enumerate(scans):
        x = position * (BAR_WIDTH + BAR_GAP)
        y = CHART_HEIGHT
        segments = []
        for severity, count in (("info", scan.infos), ("warning", scan.warnings), ("error", scan.errors)):
            height = round(count * scale, 1)
            y -= height
            if count:
                segments.append({"severity": severity, "count": count, "y": round(y, 1), "height": height})
        bars.append({"x": x, "scan": scan, "segments": segments, "total": scan.total_violations, "label_y": round(max(y - 4, 10), 1)})
    return bars


def chart_context() -> list[dict]:
    """One chart per validator: a bar per finished scan (oldest first), stacked by severity, one scale for all."""
    history = scan_history()
    most = max((s.total_violations for scans in history.values() for s in scans), default=0)
    scale = (CHART_HEIGHT - 16) / most if most else 0.0
    charts = []
    for validator, label in ValidatorType.choices:
        scans = history.get(validator, [])
        charts.append(
            {
                "validator": validator,
                "label": label,
                "bars": _bars(scans, scale),
                "width": max(1, len(scans)) * (BAR_WIDTH + BAR_GAP),
                "height": CHART_HEIGHT,
            }
        )
    return charts


def latest_context() -> list[dict]:
    """The newest finished scan of each validator, its findings grouped by rule then file."""
    latest = scan_latest_finished()
    sections = []
    for validator, label in ValidatorType.choices:
        scan = latest.get(validator)
        rules = scan_violations_grouped(scan=scan) if scan else []
        for rule in rules:
            for group in rule["files"]:
                group["more"] = max(0, group["count"] - LINES_SHOWN)
                group["violations"] = group["violations"][:LINES_SHOWN]
        sections.append(
            {
                "validator": validator,
                "label": label,
                "scan": scan,
                "tone": STATUS_TONES.get(scan.status, "waiting") if scan else "waiting",
                "status_label": TaskStatus(scan.status).label if scan else "",
                "rules": rules,
            }
        )
    return sections
