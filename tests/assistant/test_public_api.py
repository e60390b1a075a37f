"""The exported names of the assistant package are pinned: changing them is a deliberate act."""

from __future__ import annotations

import assistant

PUBLIC = [
    "AnthropicModel", "AssetNode", "Assistant", "AssistantDisabled", "AssistantError", "AssistantSettings",
    "AssistantStore", "BudgetExhausted", "CatalogView", "ColumnProposal", "ColumnView", "CompiledDraft",
    "ConversationInfo", "CredentialNeed", "CredentialView", "DecisionView", "DocSet", "DocsReport", "DraftInfo",
    "DraftPipeline", "DraftReport", "DryRun",
    "ExtractPreview", "Extraction", "FieldView", "GLOSSARY", "Intent", "LoadPreview", "MappingProposal", "Message",
    "Model", "ModelRequest", "ModelResponse", "OperationView", "Passage", "ProblemView", "Proposal",
    "ProviderRejected", "ProviderUnavailable", "SYSTEM_PROMPT", "ScheduleView", "ScriptedModel", "SdkView",
    "SensorView", "TableView", "TextBlock", "ToolResult", "ToolSpec", "ToolUse", "TurnResult", "Usage", "WebServer",
    "WorkflowView", "activate_draft", "ai_off_reason", "canonical_tokens", "catalog_from_specs",
    "create_web_app", "estimate_tokens", "extract_from_docs", "invented_names", "load_assistant_settings",
    "load_catalog", "merge_turns", "name_similarity", "operation_view", "parse_intent", "parse_schedule", "propose",
    "propose_mapping", "read_docs", "require_ai", "resolve_operation", "rollback", "set_ai", "submit_schema",
    "to_openapi", "web_key", "web_token", "workflow_schema",
]


def test_assistant_exports() -> None:
    assert sorted(assistant.__all__) == sorted(PUBLIC)
    assert all(hasattr(assistant, name) for name in assistant.__all__)


def test_implementation_modules_are_private() -> None:
    import pkgutil

    modules = [m.name for m in pkgutil.iter_modules(assistant.__path__)]
    assert modules and all(name.startswith("_") for name in modules)
