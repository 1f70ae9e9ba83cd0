"""Column presets of the shops' own export formats, recognised from a feed's header."""
from __future__ import annotations

from dataclasses import dataclass, field

from wizamart.marketplace.feed import normalise_header


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    columns: dict[str, str] = field(default_factory=dict)  # normalised source header -> feed column


PRESETS: dict[str, Preset] = {}


def detect_preset(header: list[str]) -> Preset | None:
    """The preset whose columns the header carries most of, or None."""
    names = {normalise_header(cell) for cell in header}
    best = max(PRESETS.values(), key=lambda p: len(names & set(p.columns)), default=None)
    return best if best is not None and names & set(best.columns) else None
