"""Parsing and whole-definition validation: every problem of a definition, reported at once."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from erp_platform._errors import Problem, ValidationFailed
from erp_platform.workflows._catalog import OperationInfo, SdkCatalog
from erp_platform.workflows._definition import WorkflowDefinition
from erp_platform.workflows._document import load_document
from erp_platform.workflows._graph import analyse_steps
from erp_platform.workflows._mapping_source import MappingSource
from erp_platform.workflows._parameters import resolve_parameters
from erp_platform.workflows._problems import problems_from_validation_error
from erp_platform.workflows._rules import check_rules
from erp_platform.workflows._sdk_checks import check_catalog
from erp_platform.workflows._typecheck import LoadPlan, TypeAnalysis, TypeSystem, analyse_types


class InvalidDefinitionError(ValidationFailed):
    """A workflow definition (or mapping) has problems; ``problems`` lists every one with its JSON path."""


class CompatibilityError(ValidationFailed):
    """A version cannot be activated: an SDK, SDK version, capability, operation or mapping it needs is
    missing or not ACTIVE."""


def parse_definition(
    text_or_bytes: str | bytes, *, filename: str, params: Mapping[str, str] | None = None
) -> WorkflowDefinition:
    """Parse a workflow definition from YAML or JSON text, substituting its parameters.

    Args:
        params: values of the definition's declared parameters (``--param NAME=VALUE``), see
            :mod:`erp_platform.workflows._parameters`.

    Raises:
        DocumentSyntaxError: not YAML/JSON (the message names the file, line and column).
        InvalidDefinitionError: the document does not fit the model, or a ``{name}`` placeholder is not a
            declared parameter with a value; every problem with its JSON path.
    """
    raw = load_document(text_or_bytes, filename=filename, what="workflow definition")
    data, problems = resolve_parameters(raw, params)
    try:
        definition = WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        problems += problems_from_validation_error(exc, WorkflowDefinition)
        raise InvalidDefinitionError(f"{filename}: invalid workflow definition", problems) from None
    InvalidDefinitionError.raise_if_any(f"{filename}: invalid workflow definition", problems)
    return definition


def validate_definition(
    definition: WorkflowDefinition,
    *,
    catalog: SdkCatalog | None = None,
    mappings: MappingSource | None = None,
    for_activation: bool = False,
    type_system: TypeSystem | None = None,
) -> list[Problem]:
    """Every whole-definition problem: graph, inputs, idempotency, triggers, lifecycle, and, when given,
    the tenant's SDK catalog and mapping configs (with type checks through transforms and mappings).

    Args:
        definition: a parsed definition.
        catalog: the tenant's SDKs; without it SDK references are not checked.
        mappings: the tenant's mapping configs; without it ``mapping_ref`` is not resolved.
        for_activation: also require the SDK versions and mappings used to be ACTIVE.
        type_system: override of the transforms package's schema functions (tests).
    """
    return _analyse(definition, catalog, mappings, for_activation, type_system).problems


def plan_loads(
    definition: WorkflowDefinition,
    *,
    catalog: SdkCatalog | None = None,
    mappings: MappingSource | None = None,
    type_system: TypeSystem | None = None,
) -> tuple[dict[str, LoadPlan], list[Problem]]:
    """What each load of ``definition`` writes, resolved against the tenant's SDKs and mappings: its
    complete mapping (or the one derived from its input's fields) and its business key columns.

    Returns:
        The plan of every load that could be resolved (by activity id), and every problem of the
        definition (a load with problems has no plan).
    """
    analysis = _analyse(definition, catalog, mappings, False, type_system)
    return analysis.plans, analysis.problems


def _analyse(definition: WorkflowDefinition, catalog: SdkCatalog | None, mappings: MappingSource | None,
             for_activation: bool, type_system: TypeSystem | None) -> TypeAnalysis:
    graph, problems = analyse_steps(definition)
    problems.extend(check_rules(definition, graph))
    operations: dict[str, OperationInfo] = {}
    if catalog is not None:
        checked = check_catalog(definition, catalog, for_activation=for_activation)
        problems.extend(checked.problems)
        operations = checked.operations
    analysis = analyse_types(definition, graph, operations, mappings, for_activation=for_activation,
                             type_system=type_system)
    analysis.problems[:0] = problems
    return analysis


def check_definition(
    definition: WorkflowDefinition,
    *,
    catalog: SdkCatalog | None = None,
    mappings: MappingSource | None = None,
    what: str | None = None,
) -> None:
    """Raise :class:`InvalidDefinitionError` listing every problem of ``definition`` (see
    :func:`validate_definition`)."""
    problems = validate_definition(definition, catalog=catalog, mappings=mappings)
    if problems:
        raise InvalidDefinitionError(what or f"workflow {definition.id!r} is invalid", problems)


def load_definition(
    text_or_bytes: str | bytes,
    *,
    filename: str,
    catalog: SdkCatalog | None = None,
    mappings: MappingSource | None = None,
    params: Mapping[str, str] | None = None,
) -> WorkflowDefinition:
    """Parse and fully validate a definition file: :func:`parse_definition` + :func:`check_definition`."""
    definition = parse_definition(text_or_bytes, filename=filename, params=params)
    check_definition(definition, catalog=catalog, mappings=mappings,
                     what=f"{filename}: invalid workflow definition")
    return definition
