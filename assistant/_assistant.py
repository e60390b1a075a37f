"""The assistant: one conversation turn at a time, with the AI provider or offline.

A turn with the provider runs the model with the tenant's tools for at most ``max_tool_rounds`` calls and
``max_repairs`` repairs of a submitted draft, within the conversation's token budget. The status line of
every turn is written from what actually happened (stored version, problems left), never by the model,
so the assistant cannot claim a change it did not make. Without the provider (switched off, no key, or
down) the offline path answers the common requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from assistant._catalog import CatalogView, load_catalog
from assistant._docs import DocsReport, extract_from_docs, read_docs, to_openapi
from assistant._errors import AssistantError, BudgetExhausted, ProviderRejected, ProviderUnavailable
from assistant._intent import not_understood, parse_intent
from assistant._mapper import MappingProposal, propose_mapping
from assistant._model import Message, Model, ModelRequest, TextBlock, TextSink, Usage
from assistant._pipeline import DraftPipeline, DraftReport, activate_draft, describe_problems
from assistant._proposal import propose
from assistant._settings import AssistantSettings, load_assistant_settings
from assistant._store import AssistantStore, ConversationInfo, DraftInfo
from assistant._switch import ai_off_reason, require_ai
from assistant._tools import SUBMIT, ToolBox
from erp_platform.registry import record_audit
from erp_platform.sdks import SdkService, SdkVersionInfo
from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory

if TYPE_CHECKING:
    from erp_platform._platform import Platform

SYSTEM_PROMPT = """You are the workflow assistant of an ERP integration platform, working for tenant {tenant}.
You write DRAFTS of sync workflows (extract -> transform -> load, with schedules and sensors). You never run,
activate or change anything that is live: only the user activates a draft, after reviewing it.
Rules:
- Use only names the tools return: this tenant's SDKs, operations, fields (exact spelling), tables and
  workflows. If what the user wants does not exist, say so. Never invent a field, table column or operation.
- Call describe_operation for every extract and propose_mapping for every load before submitting.
- Unless the user asks otherwise, merge on the read's primary key (keys) and read incrementally on its change
  field (incremental_field): the SDK builder decided both from the ERP's spec, with the evidence shown.
- If a dry run cannot call the ERP because credentials are not set, do not change the draft: tell the user
  which credentials to set, with the commands given.
- Submit the complete definition with submit_workflow. If it returns problems, fix every one and submit again.
- Never say that a change is applied, active or running: a stored draft is a DRAFT version until the user
  activates it.
- Keep answers short: what the draft reads and writes, its schedule or sensor, what is left unmapped."""


class TurnResult(BaseModel):
    """One turn: the reply, the factual status line, the draft (if any) and what it cost."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str
    reply: str
    status: str
    draft: DraftInfo | None = None
    usage: Usage = Usage()
    offline: bool = False
    rounds: int = 0
    submissions: int = 0


def merge_turns(messages: list[Message]) -> list[Message]:
    """Consecutive messages of one role joined into one (the API alternates user and assistant)."""
    merged: list[Message] = []
    for message in messages:
        if merged and merged[-1].role == message.role:
            merged[-1] = Message(role=message.role, content=merged[-1].content + message.content)
        else:
            merged.append(message)
    return merged


class Assistant:
    """Conversations, drafts and offline functions for every tenant (each call names its tenant).

    Args:
        engine: the control-plane database.
        sdks: the SDK service (dry runs call the tenant's real SDKs through it).
        settings: ``ERP_ASSISTANT_*`` settings (default: from the environment).
        model: the AI provider; default: the Anthropic adapter when its API key is set, else offline only.
    """

    def __init__(self, engine: Engine, sdks: SdkService, *, settings: AssistantSettings | None = None,
                 model: Model | None = None) -> None:
        self._engine = engine
        self._sdks = sdks
        self.settings = settings or load_assistant_settings()
        self._model = model
        self.store = AssistantStore(engine)

    @classmethod
    def from_platform(cls, platform: Platform, **options: Any) -> Assistant:
        return cls(platform.engine, SdkService.from_platform(platform), **options)

    # -- provider --------------------------------------------------------------------------------------
    def model_for(self, tenant: str) -> tuple[Model | None, str | None]:
        """The model to use for ``tenant`` and, when there is none, why (AI off, no key)."""
        reason = ai_off_reason(self._engine, self.settings, tenant)
        if reason is not None:
            return None, f"the AI assistant is off: {reason}"
        if self._model is not None:
            return self._model, None
        if not self.settings.api_key():
            return None, f"no AI provider key ({self.settings.api_key_env} is not set)"
        from assistant._anthropic import AnthropicModel

        self._model = AnthropicModel(self.settings)
        return self._model, None

    # -- conversations ---------------------------------------------------------------------------------
    def start(self, tenant: str, title: str = "chat") -> ConversationInfo:
        return self.store.create_conversation(tenant, title)

    def draft(self, tenant: str, text: str, *, offline: bool = False, on_text: TextSink | None = None) -> TurnResult:
        """One shot: a new conversation with one request."""
        conversation = self.start(tenant, text[:80])
        return self.send(tenant, conversation.id, text, offline=offline, on_text=on_text)

    def send(self, tenant: str, conversation_id: str, text: str, *, offline: bool = False,
             on_text: TextSink | None = None) -> TurnResult:
        """Answer one user message in a conversation of ``tenant``.

        Raises:
            NotFoundError: the conversation is not one of this tenant's.
            BudgetExhausted: the conversation's token budget is spent (nothing was sent).
            ProviderUnavailable, ProviderRejected: the provider failed and the offline path does not
                understand the request (nothing was changed).
        """
        if not text.strip():
            raise AssistantError("the message is empty: say what the workflow should do, e.g. "
                                 "\"sync customers into crm_customers every hour\"")
        conversation = self.store.conversation(tenant, conversation_id)
        model, why = (None, "offline mode requested") if offline else self.model_for(tenant)
        if model is None:
            return self._offline_turn(tenant, conversation, text, note=why)
        try:
            return self._model_turn(tenant, conversation, text, model, on_text)
        except (ProviderUnavailable, ProviderRejected) as exc:
            if parse_intent(text) is None:
                raise
            # the user's message is stored already (with the turn's completed part): store only the answer
            return self._offline_turn(tenant, conversation, text, note=f"the AI provider failed ({exc})",
                                      store_user=False)

    def propose_mapping(self, tenant: str, sdk: str, operation: str, table: str) -> MappingProposal:
        """The offline mapper for one of the tenant's collection reads and a table (no AI involved)."""
        catalog = load_catalog(self._engine, tenant)
        if catalog.sdk(sdk) is None:
            raise AssistantError(catalog.unknown_sdk_message(sdk))
        op = catalog.operation(sdk, operation)
        if op is None:
            raise AssistantError(catalog.unknown_operation_message(sdk, operation))
        return propose_mapping(op, table, catalog.table(table))

    def build_sdk_from_docs(self, tenant: str, docs_path: Path, *, name: str | None = None,
                            base_url: str | None = None) -> tuple[SdkVersionInfo, DocsReport]:
        """Extract an SdkSpec from documentation with the model (every operation cited), then build it
        like any spec (scan, compile, sandbox tests): a TESTING or FAILED version, never ACTIVE.

        Raises:
            AssistantDisabled, AssistantError: the AI provider is off or has no key (nothing was built).
            InvalidInputError: the docs cannot be read.
        """
        require_ai(self._engine, self.settings, tenant)
        docs = read_docs(docs_path)
        model, why = self.model_for(tenant)
        if model is None:
            raise AssistantError(
                f"building an SDK from documentation needs the AI provider: {why}; or build it from an OpenAPI, "
                f"Swagger or EDMX file with `erp sdk build {tenant} --spec FILE`"
            )
        extraction, report = extract_from_docs(
            docs, model, max_rounds=self.settings.docs_max_rounds, max_tokens=self.settings.max_output_tokens,
            token_budget=self.settings.token_budget,
        )
        spec = to_openapi(extraction, docs_name=docs_path.name)
        info = self._sdks.build(tenant, spec, filename=f"{docs.name}.openapi.json", name=name, base_url=base_url)
        with self._engine.begin() as conn:
            record_audit(conn, action="assistant.sdk_from_docs", target_type="sdk",
                         target_id=f"{info.name}@{info.version}", tenant_slug=tenant,
                         details={"docs": docs_path.name, "model": model.name, "documented": len(report.documented),
                                  "found": len(report.found), "missing": list(report.missing)[:50],
                                  "refused": len(report.refused), "input_tokens": report.usage.input_tokens,
                                  "output_tokens": report.usage.output_tokens, "status": info.status})
        return info, report

    def activate(self, tenant: str, draft_id: int) -> DraftInfo:
        """Activate a VALID draft's workflow version (the registry's own activation path)."""
        return activate_draft(self._engine, tenant, draft_id)

    # -- internals --------------------------------------------------------------------------------------
    def _pipeline(self, tenant: str, catalog: CatalogView) -> DraftPipeline:
        return DraftPipeline(self._engine, self._sdks, tenant, catalog, dry_run_rows=self.settings.dry_run_rows)

    def _model_turn(self, tenant: str, conversation: ConversationInfo, text: str, model: Model,
                    on_text: TextSink | None) -> TurnResult:
        budget = self.settings.token_budget
        if conversation.tokens >= budget:
            raise BudgetExhausted(
                f"conversation {conversation.id} of tenant {tenant!r} has used {conversation.tokens} of its "
                f"{budget} tokens (ERP_ASSISTANT_TOKEN_BUDGET): nothing was sent; start a new conversation "
                f"(`erp assistant chat {tenant}`) or raise the budget"
            )
        catalog = load_catalog(self._engine, tenant)
        pipeline = self._pipeline(tenant, catalog)
        tools = ToolBox(pipeline, self._sdks, share_samples=self.store.share_samples(tenant),
                        conversation_id=conversation.id, source=f"model:{model.name}")
        history = self.store.messages(tenant, conversation.id)
        new: list[Message] = [Message.user(text)]
        usage = Usage()
        draft: DraftInfo | None = None
        failed: tuple[Any, DraftReport] | None = None
        submissions = rounds = 0
        status = ""
        try:
            while True:
                if rounds >= self.settings.max_tool_rounds:
                    status = (f"stopped after {rounds} model calls (ERP_ASSISTANT_MAX_TOOL_ROUNDS) without finishing; "
                              "nothing more was sent")
                    break
                if conversation.tokens + usage.total >= budget:
                    status = (f"stopped: the conversation's token budget ({budget}, ERP_ASSISTANT_TOKEN_BUDGET) is "
                              "spent; start a new conversation to continue")
                    break
                request = ModelRequest(system=SYSTEM_PROMPT.format(tenant=tenant),
                                       messages=tuple(merge_turns([*history, *new])), tools=tools.specs(),
                                       max_tokens=self.settings.max_output_tokens)
                response = model.complete(request, on_text=on_text)
                rounds += 1
                usage = usage + response.usage
                new.append(response.as_message())
                calls = response.tool_calls
                if not calls:
                    break
                results = []
                for call in calls:
                    outcome = tools.run(call)
                    result = outcome.result
                    if call.name == SUBMIT and outcome.report is not None:
                        submissions += 1
                        if outcome.report.ok:
                            draft = pipeline.save(outcome.definition, outcome.report, conversation_id=conversation.id,
                                                  repairs=submissions - 1, source=f"model:{model.name}")
                            failed = None
                        else:
                            failed = (call.input.get("definition"), outcome.report)
                            if submissions > self.settings.max_repairs:
                                result = result.model_copy(update={"content": result.content + (
                                    f"\nNo more repairs: {self.settings.max_repairs} allowed "
                                    "(ERP_ASSISTANT_MAX_REPAIRS). "
                                    "Tell the user what is wrong.")})
                    results.append(result)
                new.append(Message(role="user", content=tuple(results)))
                if failed is not None and submissions > self.settings.max_repairs:
                    status = (f"gave up after {submissions - 1} repair(s) (ERP_ASSISTANT_MAX_REPAIRS="
                              f"{self.settings.max_repairs}): the draft still has {len(failed[1].problems)} problem(s)")
                    break
        finally:
            self.store.append(tenant, conversation.id, new, usage)
        if failed is not None and draft is None:
            proposed, report = failed
            draft = pipeline.save(None, report, conversation_id=conversation.id, repairs=max(0, submissions - 1),
                                  source=f"model:{model.name}", proposed=proposed if isinstance(proposed, dict) else {})
        texts = [b.text for m in new[1:] if m.role == "assistant" for b in m.content if isinstance(b, TextBlock)]
        reply = "\n".join(t.strip() for t in texts if t.strip())
        status = _status(tenant, draft, status)
        return TurnResult(conversation_id=conversation.id, reply=reply, status=status, draft=draft, usage=usage,
                          offline=False, rounds=rounds, submissions=submissions)

    def _offline_turn(self, tenant: str, conversation: ConversationInfo, text: str, *, note: str | None,
                      store_user: bool = True) -> TurnResult:
        intent = parse_intent(text)
        draft: DraftInfo | None = None
        if intent is None:
            reply = not_understood(text)
        else:
            catalog = load_catalog(self._engine, tenant)
            registry = WorkflowRegistry(self._engine, registry_catalog_factory(self._engine))
            active = {record.workflow_id: definition for record, definition in registry.active_definitions(tenant)}
            try:
                proposal = propose(intent, catalog, active)
            except AssistantError as exc:
                reply = str(exc)
            else:
                pipeline = self._pipeline(tenant, catalog)
                definition, report = pipeline.check(proposal.definition)
                report = report.model_copy(update={"notes": proposal.notes})
                draft = pipeline.save(definition, report, conversation_id=conversation.id, repairs=0, source="offline")
                reply = _offline_reply(proposal.mappings, report)
        if note:
            reply = f"({note}; the offline assistant answered)\n{reply}"
        status = _status(tenant, draft, "")
        answer = Message(role="assistant", content=(TextBlock(text=f"{reply}\n{status}"),))
        self.store.append(tenant, conversation.id, [Message.user(text), answer] if store_user else [answer], Usage())
        return TurnResult(conversation_id=conversation.id, reply=reply, status=status, draft=draft, offline=True)


def _status(tenant: str, draft: DraftInfo | None, stopped: str) -> str:
    prefix = f"{stopped}. " if stopped else ""
    if draft is None:
        return prefix + "No draft was stored; nothing changed."
    if draft.status == "VALID" and draft.version is not None:
        return (prefix + f"Draft stored: workflow {draft.workflow_id} v{draft.version} (DRAFT, not active; draft "
                f"#{draft.id}). Nothing runs until you activate it: `erp workflow activate {tenant} "
                f"{draft.workflow_id} {draft.version}` or the Activate button.")
    problems = len(draft.report.get("problems", []))
    status = (prefix + f"No valid draft: {problems} problem(s) remain (draft #{draft.id}, stage "
              f"{draft.report.get('stage')}); no workflow version was stored and nothing changed.")
    return status + _credentials_hint(draft.report)


def _credentials_hint(report: dict[str, Any]) -> str:
    """The commands that set the credentials a dry run lacked (empty when none was missing)."""
    needs = (report.get("dry_run") or {}).get("credentials_needed") or []
    if not needs:
        return ""
    lines = [f"  {n['credential']['command']}   # SDK {n['sdk']}: "
             f"{n['credential']['purpose'] or n['credential']['name']}" for n in needs]
    return ("\nThe dry run needs credentials this tenant has not set; set each with the ERP's value:\n"
            + "\n".join(lines))


def _offline_reply(mappings: tuple[MappingProposal, ...], report: DraftReport) -> str:
    lines: list[str] = []
    for mapping in mappings:
        where = "new table" if mapping.new_table else "existing table"
        lines.append(f"{mapping.sdk}.{mapping.operation} ({mapping.entity}) -> {mapping.table} ({where}):")
        for column in mapping.columns:
            key = " [key]" if column.key else ""
            lines.append(f"  {column.source} -> {column.target} {column.type}{key}  "
                         f"{column.confidence:.2f}  {column.reason}")
        if mapping.unmapped_fields and not mapping.new_table:
            lines.append(f"  fields not mapped: {', '.join(mapping.unmapped_fields)}")
        if mapping.unmapped_columns:
            lines.append(f"  columns without a source: {', '.join(mapping.unmapped_columns)}")
    lines.extend(report.notes)
    if not report.ok:
        lines.append(f"the draft has problems (stage {report.stage}):\n{describe_problems(report.problems)}")
    return "\n".join(lines)
