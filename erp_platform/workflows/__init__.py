"""Workflow definitions: parsing, whole-definition validation, content hashes and the tenant-scoped registry.

A definition is parsed from YAML or JSON (:func:`parse_definition`), validated as a whole against the
tenant's SDK catalog and mapping configs (:func:`validate_definition`: every problem at once, each with its
JSON path), hashed (:func:`content_hash`: canonical JSON without ``lifecycle``) and stored as an immutable
version by :class:`WorkflowRegistry`. Mapping configs referenced by loads live in :class:`MappingRegistry`.
"""

from erp_platform.workflows._catalog import (
    InMemorySdkCatalog,
    OperationInfo,
    ParamInfo,
    SdkCatalog,
    SdkInfo,
    SdkStatus,
    catalog_entry_from_sdk_spec,
    resolve_sdk_version,
)
from erp_platform.workflows._definition import (
    Activity,
    ActivityType,
    Compatibility,
    ExtractActivity,
    ExtractConfig,
    IdempotencyStrategy,
    Lifecycle,
    LoadActivity,
    RetryPolicy,
    ScheduleTrigger,
    SensorTrigger,
    Step,
    TransformActivity,
    Trigger,
    WorkflowDefinition,
    WorkflowParameter,
)
from erp_platform.workflows._document import DocumentSyntaxError, load_document
from erp_platform.workflows._graph import StepGraph, analyse_steps, effective_steps
from erp_platform.workflows._hash import (
    HASH_EXCLUDED_FIELDS,
    canonical_json,
    content_hash,
    definition_payload,
    model_payload,
    stored_definition_hash,
)
from erp_platform.workflows._mapping_source import InMemoryMappingSource, MappingSource, ResolvedMapping
from erp_platform.workflows._mappings import MappingDocument, MappingRegistry, mapping_hash, parse_mapping
from erp_platform.workflows._parameters import parse_param_options, resolve_parameters
from erp_platform.workflows._records import MappingRecord, WorkflowRecord
from erp_platform.workflows._registry import CatalogFactory, WorkflowRegistry
from erp_platform.workflows._registry_catalog import RegistrySdkCatalog, registry_catalog_factory
from erp_platform.workflows._rules import main_input
from erp_platform.workflows._scaffold import ScaffoldRequest, scaffold_workflow
from erp_platform.workflows._typecheck import LoadPlan, TypeSystem, transforms_type_system
from erp_platform.workflows._validate import (
    CompatibilityError,
    InvalidDefinitionError,
    check_definition,
    load_definition,
    parse_definition,
    plan_loads,
    validate_definition,
)

__all__ = [
    "HASH_EXCLUDED_FIELDS",
    "Activity",
    "ActivityType",
    "CatalogFactory",
    "Compatibility",
    "CompatibilityError",
    "DocumentSyntaxError",
    "ExtractActivity",
    "ExtractConfig",
    "IdempotencyStrategy",
    "InMemoryMappingSource",
    "InMemorySdkCatalog",
    "InvalidDefinitionError",
    "Lifecycle",
    "LoadActivity",
    "LoadPlan",
    "MappingDocument",
    "MappingRecord",
    "MappingRegistry",
    "MappingSource",
    "OperationInfo",
    "ParamInfo",
    "RegistrySdkCatalog",
    "ResolvedMapping",
    "RetryPolicy",
    "ScaffoldRequest",
    "ScheduleTrigger",
    "SdkCatalog",
    "SdkInfo",
    "SdkStatus",
    "SensorTrigger",
    "Step",
    "StepGraph",
    "TransformActivity",
    "Trigger",
    "TypeSystem",
    "WorkflowDefinition",
    "WorkflowParameter",
    "WorkflowRecord",
    "WorkflowRegistry",
    "analyse_steps",
    "canonical_json",
    "catalog_entry_from_sdk_spec",
    "check_definition",
    "content_hash",
    "definition_payload",
    "effective_steps",
    "load_definition",
    "load_document",
    "main_input",
    "mapping_hash",
    "model_payload",
    "parse_definition",
    "parse_mapping",
    "parse_param_options",
    "plan_loads",
    "registry_catalog_factory",
    "resolve_parameters",
    "resolve_sdk_version",
    "scaffold_workflow",
    "stored_definition_hash",
    "transforms_type_system",
    "validate_definition",
]
