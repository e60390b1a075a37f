"""The step graph of a definition: ids, references, one step per activity, and cycles.

Each activity becomes exactly one Dagster asset, so each activity must be run by exactly one step, and the
steps' ``depends_on`` (step ids) must form a DAG.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from erp_platform._errors import Problem
from erp_platform.workflows._definition import Step, WorkflowDefinition
from erp_platform.workflows._problems import did_you_mean


def effective_steps(definition: WorkflowDefinition) -> tuple[Step, ...]:
    """The definition's steps, or one step per activity (no dependencies) when it lists none."""
    if definition.steps:
        return tuple(definition.steps)
    return tuple(Step(activity=a.id) for a in definition.activities)


@dataclass(frozen=True)
class StepGraph:
    """Steps resolved to activities. Only valid references are kept; problems are reported separately."""

    steps: tuple[Step, ...]
    step_of_activity: dict[str, int]  # activity id -> index of the (first) step running it
    upstream: dict[str, tuple[str, ...]]  # activity id -> activity ids of its step's dependencies
    order: tuple[str, ...]  # activity ids, dependencies first (activities on a cycle are left out)
    acyclic: bool
    implicit: bool  # the definition lists no steps: one step per activity, no dependencies

    def step_path(self, activity_id: str) -> str:
        """``steps[i]`` of the step that runs the activity (for problem paths)."""
        index = self.step_of_activity.get(activity_id)
        return f"steps[{index}]" if index is not None else "steps"

    def step_id(self, activity_id: str) -> str:
        index = self.step_of_activity.get(activity_id)
        return self.steps[index].step_id if index is not None else activity_id


def _activity_problems(definition: WorkflowDefinition) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for i, activity in enumerate(definition.activities):
        if activity.id in first:
            problems.append(Problem(
                f"activities[{i}].id",
                f"duplicate activity id: activities[{first[activity.id]}] has the same id; give every "
                "activity "
                "a unique id",
                activity.id,
            ))
        else:
            first[activity.id] = i
    return problems


def analyse_steps(definition: WorkflowDefinition) -> tuple[StepGraph, list[Problem]]:
    """Check ids, references and cycles; return the resolved graph and every problem found."""
    problems = _activity_problems(definition)
    steps = effective_steps(definition)
    activity_ids = [a.id for a in definition.activities]
    known_activities = set(activity_ids)
    step_index: dict[str, int] = {}
    step_of_activity: dict[str, int] = {}
    for i, step in enumerate(steps):
        sid = step.step_id
        if sid in step_index:
            field = "id" if step.id is not None else "activity"
            problems.append(Problem(
                f"steps[{i}].{field}",
                f"duplicate step id: steps[{step_index[sid]}] has the same id; set a unique `id` on one of "
                "them",
                sid,
            ))
        else:
            step_index[sid] = i
        if step.activity not in known_activities:
            problems.append(Problem(
                f"steps[{i}].activity",
                f"unknown activity{did_you_mean(step.activity, known_activities)}; use one of the ids under "
                f"`activities`: {', '.join(dict.fromkeys(activity_ids))}",
                step.activity,
            ))
        elif step.activity in step_of_activity:
            other = step_of_activity[step.activity]
            problems.append(Problem(
                f"steps[{i}].activity",
                f"activity is already run by steps[{other}]: each activity becomes exactly one Dagster "
                "asset, "
                "so exactly one step may run it",
                step.activity,
            ))
        else:
            step_of_activity[step.activity] = i
    reported: set[str] = set()
    for i, activity in enumerate(definition.activities):
        if activity.id not in step_of_activity and activity.id not in reported:
            reported.add(activity.id)
            problems.append(Problem(
                f"activities[{i}].id",
                f"activity is not run by any step: add a step `{{activity: {activity.id}}}` or remove the "
                "activity (each activity becomes exactly one Dagster asset)",
                activity.id,
            ))

    edges: dict[str, list[tuple[str, int]]] = {}  # step id -> [(dependency step id, index in depends_on)]
    for i, step in enumerate(steps):
        if step_index.get(step.step_id) != i:
            continue
        seen: set[str] = set()
        for k, dep in enumerate(step.depends_on):
            path = f"steps[{i}].depends_on[{k}]"
            if dep in seen:
                problems.append(Problem(path, "listed twice in depends_on: remove the repetition", dep))
                continue
            seen.add(dep)
            if dep not in step_index:
                problems.append(Problem(
                    path,
                    f"unknown step{did_you_mean(dep, set(step_index))}; depends_on lists step ids (a step's "
                    f"id defaults to its activity): {', '.join(step_index)}",
                    dep,
                ))
                continue
            edges.setdefault(step.step_id, []).append((dep, k))
            dep_step = steps[step_index[dep]]
            if step.parallel_group is not None and step.parallel_group == dep_step.parallel_group:
                problems.append(Problem(
                    path,
                    f"step {step.step_id!r} depends on {dep!r} but both are in parallel group "
                    f"{step.parallel_group!r}, whose steps run together: put one of them in another group",
                    dep,
                ))

    cycle_problems, on_cycle = _cycles(list(step_index), edges, step_index)
    problems.extend(cycle_problems)
    order = _topological(list(step_index), edges, on_cycle)
    upstream: dict[str, tuple[str, ...]] = {}
    for sid, i in step_index.items():
        activity_id = steps[i].activity
        if step_of_activity.get(activity_id) != i:
            continue
        upstream[activity_id] = tuple(steps[step_index[d]].activity for d, _ in edges.get(sid, []))
    graph = StepGraph(
        steps=steps,
        step_of_activity=step_of_activity,
        upstream=upstream,
        order=tuple(steps[step_index[s]].activity for s in order
                    if step_of_activity.get(steps[step_index[s]].activity) == step_index[s]),
        acyclic=not on_cycle,
        implicit=not definition.steps,
    )
    return graph, problems


def _cycles(
    nodes: list[str], edges: dict[str, list[tuple[str, int]]], index: dict[str, int]
) -> tuple[list[Problem], set[str]]:
    """Every back edge found by a depth-first search, reported with the cycle it closes."""
    problems: list[Problem] = []
    on_cycle: set[str] = set()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset[str]] = set()
    for root in nodes:
        if root in state:
            continue
        path: list[str] = [root]
        state[root] = 1
        stack = [iter(edges.get(root, []))]
        while stack:
            node = path[-1]
            nxt = next(stack[-1], None)
            if nxt is None:
                state[node] = 2
                path.pop()
                stack.pop()
                continue
            dep, k = nxt
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep):], dep]
                on_cycle.update(cycle)
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    problems.append(Problem(
                        f"steps[{index[node]}].depends_on[{k}]",
                        f"dependency cycle: {' -> '.join(cycle)} (each step depends on the next): remove one "
                        "of these depends_on entries",
                        dep,
                    ))
            elif dep not in state:
                state[dep] = 1
                path.append(dep)
                stack.append(iter(edges.get(dep, [])))
    return problems, on_cycle


def _topological(nodes: list[str], edges: dict[str, list[tuple[str, int]]], skip: set[str]) -> list[str]:
    """Dependencies first, ties in document order (Kahn); nodes on or after a cycle are left out."""
    position = {n: i for i, n in enumerate(nodes)}
    waiting: dict[str, int] = {}
    dependents: dict[str, list[str]] = {}
    for node in nodes:
        deps = [d for d, _ in edges.get(node, [])]
        waiting[node] = len(deps)
        for dep in deps:
            dependents.setdefault(dep, []).append(node)
    ready = [position[n] for n in nodes if waiting[n] == 0 and n not in skip]
    heapq.heapify(ready)
    done: list[str] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        done.append(node)
        for after in dependents.get(node, []):
            waiting[after] -= 1
            if waiting[after] == 0 and after not in skip:
                heapq.heappush(ready, position[after])
    return done
