"""The AI assistant: drafts workflows (assets, schedules, sensors, mappings) and SDKs from documentation.

It is an artifact compiler, never a runtime: everything it produces is a DRAFT version in the registry,
validated, compiled, dry-run, versioned and hashed like a hand-written one, and only a person activates it.
It reads one tenant's catalog at a time (:func:`load_catalog`), sends the AI provider metadata only (sample
records only when the tenant opted in), and keeps working offline: the mapper (:func:`propose_mapping`)
and the common requests (:func:`parse_intent`) need no model.

Example::

    assistant = Assistant.from_platform(platform)               # Anthropic when its key is set
    turn = assistant.draft("acme", "sync customers into crm_customers every hour")
    print(turn.reply, turn.status)                               # draft #7: crm_customers_sync v1 (DRAFT)
    assistant.activate("acme", turn.draft.id)                    # the user's explicit decision
"""

from assistant._anthropic import AnthropicModel
from assistant._assistant import SYSTEM_PROMPT, Assistant, TurnResult, merge_turns
from assistant._catalog import (
    CatalogView,
    ColumnView,
    CredentialView,
    DecisionView,
    FieldView,
    OperationView,
    SdkView,
    TableView,
    WorkflowView,
    catalog_from_specs,
    load_catalog,
    operation_view,
)
from assistant._compile import AssetNode, CompiledDraft, ScheduleView, SensorView
from assistant._docs import DocSet, DocsReport, Extraction, Passage, extract_from_docs, read_docs, to_openapi
from assistant._dryrun import CredentialNeed, DryRun, ExtractPreview, LoadPreview
from assistant._errors import (
    AssistantDisabled,
    AssistantError,
    BudgetExhausted,
    ProviderRejected,
    ProviderUnavailable,
)
from assistant._glossary import GLOSSARY, canonical_tokens
from assistant._grounding import invented_names
from assistant._intent import Intent, parse_intent, parse_schedule, resolve_operation
from assistant._mapper import ColumnProposal, MappingProposal, name_similarity, propose_mapping
from assistant._model import (
    Message,
    Model,
    ModelRequest,
    ModelResponse,
    TextBlock,
    ToolResult,
    ToolSpec,
    ToolUse,
    Usage,
)
from assistant._pipeline import DraftPipeline, DraftReport, ProblemView, activate_draft, rollback
from assistant._proposal import Proposal, propose
from assistant._schema import submit_schema, workflow_schema
from assistant._scripted import ScriptedModel, estimate_tokens
from assistant._settings import AssistantSettings, load_assistant_settings
from assistant._store import AssistantStore, ConversationInfo, DraftInfo
from assistant._switch import ai_off_reason, require_ai, set_ai
from assistant._web import WebServer, create_web_app, web_key, web_token

__all__ = [
    "GLOSSARY",
    "SYSTEM_PROMPT",
    "AnthropicModel",
    "AssetNode",
    "Assistant",
    "AssistantDisabled",
    "AssistantError",
    "AssistantSettings",
    "AssistantStore",
    "BudgetExhausted",
    "CatalogView",
    "ColumnProposal",
    "ColumnView",
    "CompiledDraft",
    "ConversationInfo",
    "CredentialNeed",
    "CredentialView",
    "DecisionView",
    "DocSet",
    "DocsReport",
    "DraftInfo",
    "DraftPipeline",
    "DraftReport",
    "DryRun",
    "ExtractPreview",
    "Extraction",
    "FieldView",
    "Intent",
    "LoadPreview",
    "MappingProposal",
    "Message",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "OperationView",
    "Passage",
    "ProblemView",
    "Proposal",
    "ProviderRejected",
    "ProviderUnavailable",
    "ScheduleView",
    "ScriptedModel",
    "SdkView",
    "SensorView",
    "TableView",
    "TextBlock",
    "ToolResult",
    "ToolSpec",
    "ToolUse",
    "TurnResult",
    "Usage",
    "WebServer",
    "WorkflowView",
    "activate_draft",
    "ai_off_reason",
    "canonical_tokens",
    "catalog_from_specs",
    "create_web_app",
    "estimate_tokens",
    "extract_from_docs",
    "invented_names",
    "load_assistant_settings",
    "load_catalog",
    "merge_turns",
    "name_similarity",
    "operation_view",
    "parse_intent",
    "parse_schedule",
    "propose",
    "propose_mapping",
    "read_docs",
    "require_ai",
    "resolve_operation",
    "rollback",
    "set_ai",
    "submit_schema",
    "to_openapi",
    "web_key",
    "web_token",
    "workflow_schema",
]
