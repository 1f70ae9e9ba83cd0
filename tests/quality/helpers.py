"""Helpers of the test-run tests: the sample suite's paths, plain pytest for comparison, process checks."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from quality.test_runs.selection import project_root

SAMPLE = "tests/quality/sample_suite"
PASSING = f"{SAMPLE}/passing"
FAILING = f"{SAMPLE}/failing"
BROKEN = f"{SAMPLE}/broken"
SLOW = f"{SAMPLE}/slow"
DATABASE = f"{SAMPLE}/database"

SUMMARY_LINE = re.compile(r"^=* ?(?P<counts>(?:\d+ \w+(?:, )?)+) in [\d.]+s")
SHORT_SUMMARY = re.compile(r"^(?P<word>FAILED|ERROR) (?P<node>\S+) - (?P<message>.*)$")


def plain_pytest(*args: str) -> subprocess.CompletedProcess:
    """Run pytest on the sample suite the ordinary way (no plugin of ours), for comparison."""
    env = {**os.environ, "COLUMNS": "1000", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rfE", "--color=no", *args],
        cwd=project_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def summary_counts(output: str) -> dict[str, int]:
    """Return pytest's final counts, e.g. {"failed": 2, "passed": 3, "error": 1}."""
    for line in reversed(output.splitlines()):
        match = SUMMARY_LINE.match(line.strip("= "))
        if match:
            counts = {}
            for part in match.group("counts").split(", "):
                number, word = part.split(" ", 1)
                counts[{"errors": "error", "xfailed": "xfailed"}.get(word, word)] = int(number)
            return counts
    raise AssertionError(f"No summary line in:\n{output[-2000:]}")


def short_summary(output: str) -> dict[str, tuple[str, str]]:
    """Return {node id: (FAILED|ERROR, message)} from pytest's short test summary."""
    found = {}
    for line in output.splitlines():
        match = SHORT_SUMMARY.match(line)
        if match:
            found[match.group("node")] = (match.group("word"), match.group("message"))
    return found


def group_members(pgid: int) -> list[int]:
    """Return the live (not zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces): state is the 1st, pgrp the 3rd.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members
