"""Deterministic fault injection: "the next K requests under path P get fault F", or a seeded rate."""

from __future__ import annotations

import random
import threading
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FaultKind = Literal["429", "500", "503", "slow", "truncated", "malformed", "html"]


class FaultRule(BaseModel):
    """One fault to inject.

    ``count`` requests (None: no limit) whose path starts with ``path_prefix`` (and whose method is
    ``method``, when given) get ``fault``; with ``rate`` < 1 each matching request gets it with that
    probability, drawn from a generator seeded with ``seed`` (so a test run is reproducible).

    Examples: ``FaultRule(fault="429", path_prefix="/odata/v4", count=2, retry_after=1)``;
    ``FaultRule(fault="503", rate=0.05, count=None, seed=7)``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fault: FaultKind = Field(
        description="429 (with Retry-After), 500, 503, slow (delay_ms, then the normal answer), truncated "
        "(status 200, the JSON body cut in the middle), malformed (status 200, invalid JSON), "
        "html (status 502 with an HTML error page)"
    )
    path_prefix: str = Field("/", description="requests whose path starts with this get the fault")
    method: str | None = Field(None, description="only requests with this HTTP method (any when None)")
    count: int | None = Field(1, ge=1, description="how many times the fault fires; None: no limit")
    rate: float = Field(1.0, gt=0.0, le=1.0, description="probability for each matching request")
    seed: int = Field(0, description="seed of the rate's random draws")
    retry_after: int = Field(1, ge=0, le=3600, description="Retry-After seconds of 429 and 503")
    delay_ms: int = Field(500, ge=0, le=120_000, description="delay of the slow fault")

    @field_validator("path_prefix")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"path_prefix {value!r} must start with '/', e.g. '/odata/v4'")
        return value

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return None if value is None else value.upper()


class FaultState(BaseModel):
    """A rule and how often it fired so far."""

    model_config = ConfigDict(frozen=True)

    rule: FaultRule
    fired: int
    remaining: int | None = Field(description="times it may still fire; None: no limit")


class _Armed:
    def __init__(self, rule: FaultRule) -> None:
        self.rule = rule
        self.fired = 0
        self.random = random.Random(rule.seed)

    def exhausted(self) -> bool:
        return self.rule.count is not None and self.fired >= self.rule.count


class FaultInjector:
    """The active fault rules of one server, checked in the order they were added."""

    def __init__(self) -> None:
        self._rules: list[_Armed] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        """Arm a rule after the existing ones."""
        with self._lock:
            self._rules.append(_Armed(rule))

    def clear(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._rules.clear()

    def states(self) -> list[FaultState]:
        """Every rule with its counters."""
        with self._lock:
            return [
                FaultState(
                    rule=a.rule,
                    fired=a.fired,
                    remaining=None if a.rule.count is None else a.rule.count - a.fired,
                )
                for a in self._rules
            ]

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The fault for this request, if a rule fires (firing consumes one of its ``count``)."""
        if not self._rules:
            return None
        with self._lock:
            for armed in self._rules:
                rule = armed.rule
                if armed.exhausted() or not path.startswith(rule.path_prefix):
                    continue
                if rule.method is not None and rule.method != method:
                    continue
                if rule.rate < 1.0 and armed.random.random() >= rule.rate:
                    continue
                armed.fired += 1
                return rule
        return None
