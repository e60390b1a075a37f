"""The offline intent path: common requests understood without a model.

Understood forms (case-insensitive, extra words ignored):

* ``sync <entity> [into|to <table>] [every hour|hourly|every 15 minutes|every 2 hours|daily [at 6am]|
  every night|weekly] [incrementally] [keyed by <column>] [with <param>=<value>]``
  (``load``, ``copy``, ``import``, ``replicate``, ``pull`` work like ``sync``);
* ``add a sensor on new <entity>`` / ``run <workflow> when <entity> change``: an ERP-change sensor on the
  extract of that entity (in the workflow that already reads it, else a new sync);
* ``run <workflow> every ...``: a schedule for an existing workflow.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant._catalog import CatalogView, OperationView
from assistant._glossary import canonical_tokens
from assistant._mapper import name_similarity

IntentKind = Literal["sync", "add_sensor", "schedule"]

_UNDERSTOOD = (
    '"sync customers into crm_customers every hour", "load sales orders to orders daily at 6am", '
    '"add a sensor on new orders", "run sales_sync every 15 minutes"'
)


class Intent(BaseModel):
    """What the user asked for, in the assistant's terms (before the catalog resolves it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: IntentKind
    entity: str = Field("", description="the entity phrase as written (customers, sales orders)")
    table: str | None = None
    workflow: str | None = None
    cron: str | None = None
    sensor: bool = False
    incremental: bool | None = None
    key: tuple[str, ...] = ()
    params: dict[str, str] = Field(default_factory=dict)


_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10, "twelve": 12,
                 "fifteen": 15, "thirty": 30}
_DAYS = {"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6}


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _WORD_NUMBERS[text]


def _at_time(text: str) -> tuple[int, int] | None:
    match = re.search(r"\bat\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b", text)
    if match is None:
        if "midnight" in text:
            return 0, 0
        if "noon" in text:
            return 12, 0
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3) == "pm" and hour < 12:
        hour += 12
    if match.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def parse_schedule(text: str) -> str | None:
    """A five-field cron expression for the schedule phrase in ``text`` (None when there is none)."""
    low = text.lower()
    num = r"(\d+|one|two|three|four|five|six|ten|twelve|fifteen|thirty)"
    if m := re.search(rf"\bevery\s+{num}\s+min(ute)?s?\b", low):
        n = _number(m.group(1))
        return "* * * * *" if n <= 1 else f"*/{min(n, 59)} * * * *"
    if m := re.search(rf"\bevery\s+{num}\s+hours?\b", low):
        n = _number(m.group(1))
        return "0 * * * *" if n <= 1 else f"0 */{min(n, 23)} * * *"
    if re.search(r"\b(every\s+hour|hourly|each\s+hour|once\s+an\s+hour)\b", low):
        return "0 * * * *"
    if re.search(r"\bevery\s+(half\s+hour|30\s+min)", low):
        return "*/30 * * * *"
    at = _at_time(low)
    if m := re.search(r"\b(every|each|on)\s+(sunday|monday|tuesday|wednesday|thursday|friday|saturday)s?\b", low):
        hour, minute = at or (0, 0)
        return f"{minute} {hour} * * {_DAYS[m.group(2)]}"
    if re.search(r"\b(weekly|every\s+week|once\s+a\s+week)\b", low):
        hour, minute = at or (0, 0)
        return f"{minute} {hour} * * 1"
    if re.search(r"\b(nightly|every\s+night|each\s+night)\b", low):
        hour, minute = at or (2, 0)
        return f"{minute} {hour} * * *"
    if re.search(r"\b(daily|every\s+day|each\s+day|once\s+a\s+day|every\s+morning|every\s+evening)\b", low) or at:
        default = (6, 0) if "morning" in low else (18, 0) if "evening" in low else (0, 0)
        hour, minute = at or default
        return f"{minute} {hour} * * *"
    return None


_SYNC_VERBS = r"(?:sync|synchronise|synchronize|load|copy|import|replicate|pull|extract|bring|move|get)"
_STOP = (r"(?=\s+(?:into|to|every|each|hourly|daily|nightly|weekly|incremental|incrementally|keyed|with|"
         r"using|from|on|at|once|and|when)\b|[.,;!]|$)")


def _params(text: str) -> dict[str, str]:
    return {k.lower(): v for k, v in re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^\s,;]+)", text)}


_KEY = re.compile(r"\b(?:keyed\s+by|key(?:ed)?\s+on|business\s+key|primary\s+key)\s+([a-z0-9_,\s]+?)"
                  r"(?=\s+(?:every|with|into|to)\b|[.;]|$)")
_SENSOR = re.compile(r"\b(?:sensor|trigger)\s+(?:on|for|when)\s+(?:new|changed|updated)?\s*"
                     r"(?:or\s+(?:changed|updated)\s+)?([a-z][a-z0-9 _-]*?)" + _STOP)
_RUN_WHEN = re.compile(r"\brun\s+([a-z_][a-z0-9_]*)\s+when\s+(?:new\s+)?([a-z][a-z0-9 _-]*?)\s+"
                       r"(?:change|changes|arrive|are\s+created)")


def _key(text: str) -> tuple[str, ...]:
    m = _KEY.search(text.lower())
    if m is None:
        return ()
    return tuple(k for k in re.split(r"[,\s]+(?:and\s+)?", m.group(1).strip()) if k and k != "and")


def parse_intent(text: str) -> Intent | None:
    """The intent of a request, or None when it is not one of the understood forms (see module docs)."""
    raw = text.strip()
    low = raw.lower()
    cron = parse_schedule(low)
    incremental = True if re.search(r"\b(incremental(ly)?|only\s+(changes|changed|new))\b", low) else None
    params = _params(raw)
    key = _key(raw)
    if m := _SENSOR.search(low):
        workflow = re.search(r"\b(?:to|in|of)\s+(?:workflow\s+)?([a-z_][a-z0-9_]*)\s*$", low)
        return Intent(kind="add_sensor", entity=m.group(1).strip(), sensor=True, incremental=True,
                      workflow=workflow.group(1) if workflow else None, params=params, key=key)
    if m := _RUN_WHEN.search(low):
        return Intent(kind="add_sensor", entity=m.group(2).strip(), workflow=m.group(1), sensor=True,
                      incremental=True, params=params, key=key)
    if (m := re.search(r"\b(?:run|schedule)\s+(?:workflow\s+)?([a-z_][a-z0-9_]*)\b", low)) and cron:
        return Intent(kind="schedule", workflow=m.group(1), cron=cron, params=params)
    if m := re.search(rf"\b{_SYNC_VERBS}\s+(?:all\s+|the\s+|our\s+|my\s+|every\s+)?([a-z][a-z0-9 _-]*?){_STOP}", low):
        entity = m.group(1).strip()
        table = re.search(r"\b(?:into|to)\s+(?:the\s+|a\s+|table\s+|new\s+table\s+)*([a-z_][a-z0-9_]*)", low)
        sensor = bool(re.search(r"\b(when\s+.*\b(change|changes|new)\b|on\s+change|sensor)", low))
        return Intent(kind="sync", entity=entity, table=table.group(1) if table else None, cron=cron,
                      sensor=sensor, incremental=incremental, key=key, params=params)
    return None


def not_understood(text: str) -> str:
    """The message for a request the offline path does not understand."""
    return (f"the offline assistant did not understand {text.strip()[:120]!r}: it understands requests like "
            f"{_UNDERSTOOD}; with the AI provider on, any wording works")


def _singular_words(phrase: str) -> tuple[str, ...]:
    words = []
    for raw in re.split(r"[\s_-]+", phrase.strip()):
        if not raw:
            continue
        if raw.endswith("ies") and len(raw) > 4:
            words.append(raw[:-3] + "y")
        elif raw.endswith("s") and not raw.endswith("ss") and len(raw) > 3:
            words.append(raw[:-1])
        else:
            words.append(raw)
    return canonical_tokens("_".join(words))


def _phrase_score(wanted: tuple[str, ...], candidate: tuple[str, ...]) -> float:
    """1.0 for the same words; 0.9 when the request names the last words (``orders`` of ``sales order``)."""
    if not wanted or not candidate:
        return 0.0
    if wanted == candidate:
        return 1.0
    if candidate[-len(wanted):] == wanted:
        return 0.9
    return name_similarity(" ".join(wanted), " ".join(candidate))


def resolve_operation(phrase: str, catalog: CatalogView, params: dict[str, str] | None = None
                      ) -> list[tuple[float, OperationView]]:
    """The tenant's collection reads that match an entity phrase, best first (score 0..1).

    Operations whose required parameters are not given rank below those that need none.
    """
    wanted = _singular_words(phrase)
    given = set(params or {})
    ranked: list[tuple[float, int, int, str, OperationView]] = []
    for op in catalog.operations():
        entity = canonical_tokens(re.sub(r"V\d+$", "", op.entity or ""))
        name = _singular_words(re.sub(r"^(list|get|read|query|odata_v\d+_list)_", "", op.name))
        score = max(_phrase_score(wanted, entity), _phrase_score(wanted, name))
        if score < 0.75:
            continue
        missing = len([p for p in op.required_params if p not in given])
        unknown = len([p for p in given if p not in op.params])
        ranked.append((score, -(missing + unknown), -len(op.name), op.name, op))
    ranked.sort(key=lambda r: (r[0], r[1], r[2]), reverse=True)
    return [(r[0], r[4]) for r in ranked]
