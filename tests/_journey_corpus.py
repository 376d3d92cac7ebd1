"""The corpus of real journey definitions that the description, map and trace tests run over.

The committed fixtures live in tests/fixtures/journeys (sources and licences in SOURCES.md). Definitions that
may not be redistributed can be added on one's own machine through ``SFMC_NB_EXTRA_JOURNEYS`` (a folder of
``.json`` files), so every corpus test also covers them there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "journeys"
EXTRA_ENV = "SFMC_NB_EXTRA_JOURNEYS"


def journey_paths() -> list[Path]:
    """Every corpus file: the committed fixtures, then any in the folder ``SFMC_NB_EXTRA_JOURNEYS`` names."""
    paths = sorted(FIXTURES.glob("*.json"))
    extra = os.environ.get(EXTRA_ENV, "").strip()
    if extra:
        paths += sorted(Path(extra).glob("*.json"))
    return paths


def load_journey(path: Path | str) -> dict[str, Any]:
    """One definition as a dict (a file holding ``{"items": [definition]}`` gives its first item)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if "activities" not in data and isinstance(data.get("items"), list) and data["items"]:
        data = data["items"][0]
    return data


def journey_ids() -> list[str]:
    """Readable pytest ids for ``journey_paths()``."""
    return [p.stem for p in journey_paths()]
