"""The resolved step graph the compiler builds assets from: order, inputs, implicit steps."""

from __future__ import annotations

import pytest

from erp_platform.workflows import (
    InvalidDefinitionError,
    LoadActivity,
    TransformActivity,
    analyse_steps,
    effective_steps,
    main_input,
    parse_definition,
)
from tests.workflows.samples import VALID


def test_graph_of_the_sample() -> None:
    definition = parse_definition(VALID, filename="wf.yaml")
    graph, problems = analyse_steps(definition)
    assert problems == []
    assert graph.acyclic
    assert not graph.implicit
    assert graph.order == ("orders", "customers", "enriched", "load_orders")
    assert graph.upstream == {
        "orders": (), "customers": (), "enriched": ("orders", "customers"), "load_orders": ("enriched",)
    }
    enriched, load = definition.activities[2], definition.activities[3]
    assert isinstance(enriched, TransformActivity)
    assert isinstance(load, LoadActivity)
    assert (main_input(enriched, graph), main_input(load, graph)) == ("orders", "enriched")


def test_order_follows_dependencies_not_document_order() -> None:
    text = """\
id: reversed
activities:
  - {id: c, type: transform, config: {}}
  - {id: b, type: transform, config: {}}
  - {id: a, type: extract, config: {sdk: s, operation: o}}
steps:
  - {id: third, activity: c, depends_on: [second]}
  - {id: second, activity: b, depends_on: [first]}
  - {id: first, activity: a}
"""
    graph, problems = analyse_steps(parse_definition(text, filename="r.yaml"))
    assert problems == []
    assert graph.order == ("a", "b", "c")
    assert graph.upstream == {"c": ("b",), "b": ("a",), "a": ()}
    assert (graph.step_id("c"), graph.step_path("c")) == ("third", "steps[0]")


def test_without_steps_every_activity_is_its_own_step() -> None:
    text = "id: solo\nactivities:\n  - {id: a, type: extract, config: {sdk: s, operation: o}}\n"
    definition = parse_definition(text, filename="s.yaml")
    assert [s.step_id for s in effective_steps(definition)] == ["a"]
    graph, problems = analyse_steps(definition)
    assert (problems, graph.implicit, graph.order) == ([], True, ("a",))


def test_aliased_field_errors_use_the_document_name() -> None:
    text = VALID.replace("with: customers", "with: Customers")
    with pytest.raises(InvalidDefinitionError) as info:
        parse_definition(text, filename="wf.yaml")
    assert [p.path for p in info.value.problems] == ["activities[2].config.steps[1].with"]
