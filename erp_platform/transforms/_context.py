"""``ExecutionContext``: deterministic time and randomness for activities.

A resumed or re-executed run sees the same ``now()`` (the run's start time) and the same sequence of
``random_id()`` values for the same step, so transforms that use them produce the same output.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ExecutionContext:
    """Per-step context: ``tenant``, ``workflow``, ``run_id``, ``step`` and the run's start time."""

    tenant: str
    workflow: str
    run_id: str
    step: str
    run_started_at: datetime
    attempt: int = 1
    _counter: itertools.count[int] = field(default_factory=itertools.count, repr=False, compare=False)

    def now(self) -> datetime:
        """The run's start time (not the wall clock), so re-executions agree."""
        return self.run_started_at

    def random_id(self) -> str:
        """A UUID-shaped id; the n-th call in a step gives the same value in every attempt of the run."""
        n = next(self._counter)
        return self.seeded_id(n)

    def seeded_id(self, n: int) -> str:
        """The n-th deterministic id of this step (what the n-th ``random_id()`` call returns)."""
        digest = hashlib.sha256(f"{self.run_id}\x00{self.step}\x00{n}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))
