"""The simulator's own endpoints (/_sim/...), which no real API has: its state and its clock."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from typing import Any


def sim_json(url: str, path: str) -> Any:
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=30) as response:
        return json.loads(response.read())


def sim_now(url: str) -> float:
    """The simulator's clock in epoch seconds: the time its GitHub rate-limit windows are counted in."""
    now = sim_json(url, "/_sim/clock")["now"]
    return datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()
