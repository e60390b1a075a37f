"""Whole-definition rules that need nothing but the definition: inputs, idempotency, triggers, lifecycle."""

from __future__ import annotations

import math
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from croniter import CroniterBadDateError, croniter

from erp_platform._errors import Problem
from erp_platform.sandbox._protocol import RESERVED_PARAMS
from erp_platform.workflows._definition import (
    ExtractActivity,
    IdempotencyStrategy,
    LoadActivity,
    ScheduleTrigger,
    SensorTrigger,
    TransformActivity,
    WorkflowDefinition,
)
from erp_platform.workflows._graph import StepGraph
from erp_platform.workflows._problems import did_you_mean

_RESERVED_HELP = {
    "_page_size": "set `page_size` on the extract instead",
    "_since": "set `incremental: true` on the extract instead",
    "_next": "the platform pages through results itself",
    "_mode": "the platform chooses how pages are parsed",
}


def main_input(activity: TransformActivity | LoadActivity, graph: StepGraph) -> str | None:
    """The activity whose output a transform or load reads: ``input`` or the default from its step."""
    if activity.config.input is not None:
        return activity.config.input
    upstream = graph.upstream.get(activity.id, ())
    if isinstance(activity, TransformActivity):
        return upstream[0] if upstream else None
    return upstream[0] if len(upstream) == 1 else None


def check_rules(definition: WorkflowDefinition, graph: StepGraph) -> list[Problem]:
    """Every rule of this module, in document order."""
    problems: list[Problem] = []
    for i, activity in enumerate(definition.activities):
        problems.extend(_idempotency(i, activity))
        if isinstance(activity, ExtractActivity):
            problems.extend(_extract_params(i, activity.config.params))
        elif isinstance(activity, TransformActivity):
            problems.extend(_transform_inputs(i, activity, graph))
        else:
            problems.extend(_load_input(i, activity, graph))
    for i, trigger in enumerate(definition.triggers):
        if isinstance(trigger, ScheduleTrigger):
            problems.extend(_schedule(i, trigger))
        else:
            problems.extend(_sensor(i, trigger, definition))
    problems.extend(_lifecycle(definition))
    return problems


def _idempotency(i: int, activity: ExtractActivity | TransformActivity | LoadActivity) -> list[Problem]:
    if activity.side_effect and activity.idempotency_strategy is IdempotencyStrategy.NONE:
        return [Problem(
            f"activities[{i}].idempotency_strategy",
            f"{activity.type} {activity.id!r} has side effects (side_effect: true), so a retried attempt "
            "could "
            "repeat them: set idempotency_strategy to request_id (the ERP de-duplicates by an idempotency "
            "key) or custom (the activity is idempotent by construction)",
            activity.idempotency_strategy.value,
        )]
    return []


def _non_finite(value: Any, path: str) -> list[Problem]:
    if isinstance(value, float) and not math.isfinite(value):
        return [Problem(path, "must be a finite number (JSON has no NaN or Infinity)", value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in _non_finite(v, f"{path}[{n}]")]
    return []


def _extract_params(i: int, params: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in params.items():
        path = f"activities[{i}].config.params.{key}"
        if key in RESERVED_PARAMS:
            problems.append(Problem(path, f"reserved parameter: {_RESERVED_HELP.get(key, 'remove it')}", key))
        problems.extend(_non_finite(value, path))
    return problems


def _input_problem(path: str, activity_id: str, name: str, graph: StepGraph, what: str) -> Problem:
    upstream = graph.upstream.get(activity_id, ())
    inputs = ", ".join(upstream) if upstream else "none"
    if name not in graph.step_of_activity:
        return Problem(
            path,
            f"unknown activity{did_you_mean(name, set(graph.step_of_activity))}: the {what} "
            f"must be one of this step's inputs ({inputs})",
            name,
        )
    return Problem(
        path,
        f"activity {name!r} is not an input of this step (its inputs: {inputs}): add step "
        f"{graph.step_id(name)!r} to the depends_on of {graph.step_path(activity_id)} "
        f"({graph.step_id(activity_id)!r})",
        name,
    )


def _no_input(activity_id: str, kind: str, graph: StepGraph) -> Problem:
    if graph.implicit:
        return Problem(
            "steps",
            f"{kind} {activity_id!r} has no input: without `steps` every activity runs on its own; add steps "
            "and list the step it reads in its depends_on",
        )
    return Problem(
        f"{graph.step_path(activity_id)}.depends_on",
        f"{kind} {activity_id!r} has no input: list the step whose output it reads in depends_on",
        [],
    )


def _transform_inputs(i: int, activity: TransformActivity, graph: StepGraph) -> list[Problem]:
    if activity.id not in graph.upstream:  # not run by a (valid) step: reported elsewhere
        return []
    problems: list[Problem] = []
    upstream = graph.upstream[activity.id]
    name = activity.config.input
    if name is not None and name not in upstream:
        problems.append(_input_problem(f"activities[{i}].config.input", activity.id, name, graph, "input"))
    if not upstream:
        problems.append(_no_input(activity.id, "transform", graph))
    for k, op in enumerate(activity.config.steps):
        if op.op == "join" and op.with_ not in upstream:
            problems.append(_input_problem(
                f"activities[{i}].config.steps[{k}].with", activity.id, op.with_, graph, "joined activity"
            ))
    return problems


def _load_input(i: int, activity: LoadActivity, graph: StepGraph) -> list[Problem]:
    if activity.id not in graph.upstream:
        return []
    upstream = graph.upstream[activity.id]
    name = activity.config.input
    if name is not None:
        if name in upstream:
            return []
        return [_input_problem(f"activities[{i}].config.input", activity.id, name, graph, "input")]
    if not upstream:
        return [_no_input(activity.id, "load", graph)]
    if len(upstream) > 1:
        return [Problem(
            f"activities[{i}].config.input",
            f"load {activity.id!r} depends on {len(upstream)} activities ({', '.join(upstream)}), so its "
            "input "
            "is ambiguous: set `input` to the one whose output it loads",
            None,
        )]
    return []


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _schedule(i: int, trigger: ScheduleTrigger) -> list[Problem]:
    problems: list[Problem] = []
    fields = trigger.cron.split()
    if len(fields) != 5:
        problems.append(Problem(
            f"triggers[{i}].cron",
            f"a cron expression has five fields (minute hour day-of-month month day-of-week), this one has "
            f"{len(fields)}: e.g. '0 * * * *' for every hour, '*/15 6-18 * * 1-5' for every 15 minutes on "
            "weekdays",
            trigger.cron,
        ))
    elif not croniter.is_valid(trigger.cron):
        problems.append(Problem(
            f"triggers[{i}].cron",
            "invalid cron expression: each of the five fields (minute 0-59, hour 0-23, day-of-month 1-31, "
            "month 1-12, day-of-week 0-6) takes *, a number, a range a-b, a list a,b or a step */n",
            trigger.cron,
        ))
    elif _never_fires(trigger.cron):
        problems.append(Problem(
            f"triggers[{i}].cron",
            "this schedule never fires (no such date, e.g. 31 February): fix the day-of-month or month",
            trigger.cron,
        ))
    if trigger.timezone not in _timezones():
        problems.append(Problem(
            f"triggers[{i}].timezone",
            f"unknown timezone{did_you_mean(trigger.timezone, _timezones())}: use an IANA name such as "
            "'Europe/Berlin', 'America/New_York' or 'UTC'",
            trigger.timezone,
        ))
    return problems


def _never_fires(cron: str) -> bool:
    try:
        croniter(cron, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        return True
    return False


def _sensor(i: int, trigger: SensorTrigger, definition: WorkflowDefinition) -> list[Problem]:
    path = f"triggers[{i}]"
    if trigger.kind == "upstream_freshness":
        problems: list[Problem] = []
        if trigger.upstream_workflow is None:
            problems.append(Problem(
                f"{path}.upstream_workflow",
                "an upstream_freshness sensor needs upstream_workflow: the id of the workflow to follow",
            ))
        elif trigger.upstream_workflow == definition.id:
            problems.append(Problem(
                f"{path}.upstream_workflow",
                "a workflow cannot follow itself: name another workflow of this tenant",
                trigger.upstream_workflow,
            ))
        if trigger.activity is not None:
            problems.append(Problem(
                f"{path}.activity", "only erp_change sensors watch an activity: remove it", trigger.activity
            ))
        return problems
    problems = []
    if trigger.upstream_workflow is not None:
        problems.append(Problem(
            f"{path}.upstream_workflow",
            "only upstream_freshness sensors follow a workflow: remove it",
            trigger.upstream_workflow,
        ))
    extracts = [a for a in definition.activities if isinstance(a, ExtractActivity)]
    if trigger.activity is None:
        names = ", ".join(a.id for a in extracts) or "none in this workflow"
        problems.append(Problem(
            f"{path}.activity", f"an erp_change sensor needs `activity`: the extract to watch ({names})"
        ))
        return problems
    target = next((a for a in definition.activities if a.id == trigger.activity), None)
    if target is None:
        problems.append(Problem(
            f"{path}.activity",
            f"unknown activity{did_you_mean(trigger.activity, {a.id for a in definition.activities})}: name "
            "an extract activity of this workflow",
            trigger.activity,
        ))
    elif not isinstance(target, ExtractActivity):
        problems.append(Problem(
            f"{path}.activity",
            f"activity {target.id!r} is a {target.type}: an erp_change sensor watches an extract",
            trigger.activity,
        ))
    elif not target.config.incremental:
        problems.append(Problem(
            f"{path}.activity",
            f"extract {target.id!r} is not incremental: set `incremental: true` on it (the sensor polls its "
            "change cursor)",
            trigger.activity,
        ))
    return problems


def _lifecycle(definition: WorkflowDefinition) -> list[Problem]:
    deprecated, cancel = definition.lifecycle.deprecated_after, definition.lifecycle.force_cancel_after
    if deprecated is None or cancel is None:
        return []
    try:
        wrong = cancel < deprecated
    except TypeError:  # one has a timezone and the other not
        return [Problem(
            "lifecycle",
            "deprecated_after and force_cancel_after must both have a timezone or both have none: add a "
            "timezone such as Z or +01:00 to both",
        )]
    if wrong:
        return [Problem(
            "lifecycle.force_cancel_after",
            f"is before deprecated_after ({deprecated.isoformat()}): running executions are cancelled only "
            "after the version is deprecated, so set it on or after deprecated_after",
            cancel.isoformat(),
        )]
    return []
