"""Read pytest's JUnit XML report (with defusedxml: the report holds test output) into result rows."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException, ElementTree

from .protocol import ERROR, FAILED, NODE_ID_PROPERTY, PASSED, SKIPPED, XFAILED

logger = logging.getLogger(__name__)

MESSAGE_MAX = 2000
TRACEBACK_LINES = 60
TRACEBACK_MAX = 8000
PHASE_ERROR = re.compile(r'^failed on (?:setup|teardown) with "(?P<message>.*)"$', re.DOTALL)


@dataclass
class CaseResult:
    node_id: str
    outcome: str
    duration: float
    message: str = ""
    traceback: str = ""


def junit_results(path: Path) -> list[CaseResult]:
    """Return one result per test case of the report (collection errors included), in report order."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    try:
        root = ElementTree.parse(str(path)).getroot()
    except (ElementTree.ParseError, DefusedXmlException):
        # A report cut short (pytest killed while writing it) or not pytest's: no per-test rows.
        logger.warning("Unreadable JUnit report %s", path)
        return []
    # An interrupted session leaves a case without a name (the test it stopped in): not a result.
    return [result for case in root.iter("testcase") if (result := _case(case)).node_id]


def _case(case) -> CaseResult:
    node_id = _node_id(case)
    duration = float(case.get("time") or 0.0)
    for tag, outcome in (("failure", FAILED), ("error", ERROR), ("skipped", None)):
        element = case.find(tag)
        if element is None:
            continue
        if outcome is None:
            outcome = XFAILED if element.get("type") == "pytest.xfail" else SKIPPED
        message = _unwrap(element.get("message") or "")
        return CaseResult(
            node_id=node_id,
            outcome=outcome,
            duration=duration,
            message=message[:MESSAGE_MAX],
            traceback=trim_traceback(element.text or ""),
        )
    return CaseResult(node_id=node_id, outcome=PASSED, duration=duration)


def _unwrap(message: str) -> str:
    """Return an error's own message: JUnit wraps setup and teardown errors in 'failed on setup with "…"'."""
    match = PHASE_ERROR.match(message)
    return match.group("message") if match else message


def _node_id(case) -> str:
    for prop in case.iterfind("properties/property"):
        if prop.get("name") == NODE_ID_PROPERTY:
            return prop.get("value") or ""
    # No property: a collection error, named after its module ("tests.x.test_y" -> tests/x/test_y.py).
    classname = case.get("classname") or ""
    name = case.get("name") or ""
    if classname:
        return classname.replace(".", "/") + ".py" + (f"::{name}" if name else "")
    return name


def trim_traceback(text: str) -> str:
    """Keep the end of a traceback (where the error is), at most TRACEBACK_LINES lines."""
    lines = text.rstrip().splitlines()
    if len(lines) > TRACEBACK_LINES:
        lines = [f"… {len(lines) - TRACEBACK_LINES} lines above left out", *lines[-TRACEBACK_LINES:]]
    trimmed = "\n".join(lines)
    return trimmed[-TRACEBACK_MAX:]
