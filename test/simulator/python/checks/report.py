"""Running checks: a PASS or FAIL line for each, and the tally the exit status comes from."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


class CheckFailed(Exception):
    """A check found an answer the real API would not give."""


def need(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def run(self, name: str, check: Callable[[], Any], needs: Optional[str] = None) -> Any:
        """Runs one check; returns its value, or None when it failed."""
        try:
            value = check()
        except CheckFailed as failure:
            self.fail(name, str(failure), needs)
            return None
        except Exception as error:  # any client error is a failed check too, with its cause
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            self.fail(name, f"unexpected {detail}", needs)
            return None
        self.passed.append(name)
        print(f"PASS {name}", file=sys.stderr)
        return value

    def fail(self, name: str, message: str, needs: Optional[str] = None) -> None:
        suffix = f" [needs simulator behaviour: {needs}]" if needs else ""
        self.failed.append((name, message))
        print(f"FAIL {name}: {message}{suffix}", file=sys.stderr)

    def skip(self, name: str, because: str) -> None:
        self.fail(name, f"not run: {because}")
