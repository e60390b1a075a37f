"""The public surface of ``erp_platform.workflows`` is pinned."""

from __future__ import annotations

import erp_platform.workflows as workflows


def test_public_names() -> None:
    assert sorted(workflows.__all__) == sorted([
        "HASH_EXCLUDED_FIELDS", "Activity", "ActivityType", "CatalogFactory", "Compatibility",
        "CompatibilityError", "DocumentSyntaxError", "ExtractActivity", "ExtractConfig",
        "IdempotencyStrategy",
        "InMemoryMappingSource", "InMemorySdkCatalog", "InvalidDefinitionError", "Lifecycle", "LoadActivity",
        "LoadPlan",
        "MappingDocument", "MappingRecord", "MappingRegistry", "MappingSource", "OperationInfo", "ParamInfo",
        "RegistrySdkCatalog", "ResolvedMapping", "RetryPolicy", "ScaffoldRequest", "ScheduleTrigger",
        "SdkCatalog", "SdkInfo",
        "SdkStatus", "SensorTrigger", "Step", "StepGraph", "TransformActivity", "Trigger", "TypeSystem",
        "WorkflowDefinition", "WorkflowParameter", "WorkflowRecord", "WorkflowRegistry", "analyse_steps",
        "canonical_json",
        "catalog_entry_from_sdk_spec", "check_definition", "content_hash", "definition_payload",
        "effective_steps", "load_definition", "load_document", "main_input", "mapping_hash", "model_payload",
        "parse_definition", "parse_mapping", "parse_param_options", "plan_loads", "registry_catalog_factory",
        "resolve_parameters", "resolve_sdk_version", "scaffold_workflow",
        "stored_definition_hash", "transforms_type_system", "validate_definition",
    ])
    for name in workflows.__all__:
        assert getattr(workflows, name) is not None
