"""The assistant's logic against a scripted model and the offline path, on real components: the session
database, the workflow registry, the platform's Dagster compiler, the mock ERP's SDK compiled to WASM and
run by wasmtime for the dry runs."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2
import pytest
from sqlalchemy import Engine, text

from assistant import (
    AnthropicModel,
    Assistant,
    BudgetExhausted,
    ModelRequest,
    ModelResponse,
    ProviderUnavailable,
    ScriptedModel,
    ToolResult,
    Usage,
    invented_names,
    load_catalog,
    rollback,
    set_ai,
)
from assistant._model import TextBlock
from erp_platform.workflows import WorkflowDefinition, WorkflowRegistry, registry_catalog_factory
from tests.assistant.conftest import SETTINGS, Ready
from tests.assistant.drafts import crm_definition

Make = Callable[..., Assistant]


def _registry(engine: Engine) -> WorkflowRegistry:
    return WorkflowRegistry(engine, registry_catalog_factory(engine))


def _last_tool_result(request: ModelRequest) -> ToolResult:
    block = request.messages[-1].content[-1]
    assert isinstance(block, ToolResult)
    return block


def _table_exists(engine: Engine, tenant: str, table: str) -> bool:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"tenant_{tenant}.{table}"})
        return bool(found.scalar())


def test_offline_draft_is_validated_compiled_dry_run_and_stored_as_a_draft(
    tenant_a: Ready, make_assistant: Make, engine: Engine
) -> None:
    turn = make_assistant().draft(tenant_a.tenant, "sync customers into offline_customers every hour", offline=True)
    draft = turn.draft
    assert draft is not None and draft.status == "VALID", turn.reply
    assert turn.offline and turn.usage == Usage()
    assert draft.workflow_id == "offline_customers_sync" and draft.version == 1
    assert turn.status == (
        f"Draft stored: workflow offline_customers_sync v1 (DRAFT, not active; draft #{draft.id}). Nothing runs "
        f"until you activate it: `erp workflow activate {tenant_a.tenant} offline_customers_sync 1` or the "
        "Activate button."
    )
    record, definition = _registry(engine).get(tenant_a.tenant, "offline_customers_sync", 1)
    assert record.status == "DRAFT" and record.content_hash == draft.content_hash
    assert [a.id for a in definition.activities] == ["customers", "load_offline_customers"]
    compiled = draft.report["compiled"]
    prefix = f"{tenant_a.tenant}/offline_customers_sync/{tenant_a.tenant}__"
    assert [(a["key"], a["kind"], a["deps"], a["checks"]) for a in compiled["assets"]] == [
        (prefix + "customers", "wasm", [], ["keys", "record_count"]),
        (prefix + "load_offline_customers", "postgres", [prefix + "customers"], ["business_key", "row_count"]),
    ]
    assert compiled["schedules"] == [{"name": "offline_customers_sync__schedule_0", "cron": "0 * * * *",
                                      "timezone": "UTC"}]
    dry = draft.report["dry_run"]
    assert dry["extracts"] == [{"activity": "customers", "sdk": "mock_erp", "operation": "list_customers",
                                "records": 10, "more_pages": True}]
    load = dry["loads"][0]
    assert load["row_count"] == 10 and load["business_key"] == ["id"]
    assert load["columns"][:3] == ["id", "number", "name"] and len(load["rows"]) == 10
    assert not _table_exists(engine, tenant_a.tenant, "offline_customers")  # nothing written
    assert draft.diff.startswith("--- (no ACTIVE version)\n+++ offline_customers_sync v1 (DRAFT)\n")
    catalog = load_catalog(engine, tenant_a.tenant)
    assert invented_names(WorkflowDefinition.model_validate(draft.definition), catalog) == []


def test_multi_turn_conversation_with_a_repair(tenant_a: Ready, make_assistant: Make, engine: Engine) -> None:
    def repaired(request: ModelRequest) -> ModelResponse:
        result = _last_tool_result(request)
        assert result.is_error
        assert "field 'customer_title' does not exist in the input 'customers'" in result.content
        return ScriptedModel.call("submit_workflow", {"definition": crm_definition(workflow="chat_crm")})

    model = ScriptedModel([
        ScriptedModel.call("list_catalog", {}),
        ScriptedModel.call("describe_operation", {"sdk": "mock_erp", "operation": "list_customers"}),
        ScriptedModel.call("propose_mapping", {"sdk": "mock_erp", "operation": "list_customers",
                                               "table": "crm_customers"}),
        ScriptedModel.call("submit_workflow", {"definition": crm_definition(workflow="chat_crm",
                                                                            name_source="customer_title")}),
        repaired,
        ScriptedModel.say("Customers go to crm_customers every hour."),
    ])
    assistant = make_assistant(model)
    conversation = assistant.start(tenant_a.tenant, "crm")
    turn = assistant.send(tenant_a.tenant, conversation.id, "sync customers into crm_customers hourly")
    assert turn.draft is not None and turn.draft.status == "VALID"
    assert (turn.rounds, turn.submissions, turn.draft.repairs) == (6, 2, 1)
    assert turn.reply == "Customers go to crm_customers every hour."
    assert turn.draft.version == 1 and turn.draft.source == "model:scripted"
    catalog_result = json.loads(_last_tool_result(model.requests[1]).content)
    assert [s["name"] for s in catalog_result["sdks"]] == ["mock_erp"]
    described = json.loads(_last_tool_result(model.requests[2]).content)
    assert [f["name"] for f in described["fields"]][:3] == ["id", "number", "name"]
    stored = assistant.store.conversation(tenant_a.tenant, conversation.id)
    assert stored.tokens == turn.usage.total > 0

    # the user activates it, then asks for a change in the same conversation: a new version, diffed with ACTIVE
    assistant.activate(tenant_a.tenant, turn.draft.id)
    model2 = ScriptedModel([
        ScriptedModel.call("submit_workflow", {"definition": crm_definition(workflow="chat_crm", sensor=True)}),
        ScriptedModel.say("Added a sensor on new customers."),
    ])
    second = make_assistant(model2).send(tenant_a.tenant, conversation.id, "also run when customers change")
    texts = [b.text for m in model2.requests[0].messages for b in m.content if isinstance(b, TextBlock)]
    assert "sync customers into crm_customers hourly" in texts and "Customers go to crm_customers every hour." in texts
    assert second.draft is not None and second.draft.version == 2
    assert second.draft.report["changes"] == ["+ trigger sensor erp_change on customers"]
    assert second.draft.base_version == 1
    assert "+- type: sensor\n+  kind: erp_change\n+  activity: customers\n" in second.draft.diff
    assert second.draft.diff.startswith("--- chat_crm v1 (ACTIVE)\n+++ chat_crm v2 (DRAFT)\n")
    assert [r.status for r in _registry(engine).list(tenant_a.tenant, "chat_crm")] == ["ACTIVE", "DRAFT"]


def test_repairs_are_bounded_and_nothing_is_stored(tenant_a: Ready, make_assistant: Make, engine: Engine) -> None:
    bad = {"definition": crm_definition(workflow="never_valid", name_source="invented_field")}
    model = ScriptedModel([ScriptedModel.call("submit_workflow", bad) for _ in range(3)]
                          + [ScriptedModel.say("unused")])
    turn = make_assistant(model, max_repairs=2).draft(tenant_a.tenant, "sync customers")
    assert turn.submissions == 3 and model.remaining == 1
    assert "No more repairs: 2 allowed (ERP_ASSISTANT_MAX_REPAIRS)" in _last_tool_result(
        ModelRequest(system="", messages=tuple(make_assistant().store.messages(tenant_a.tenant, turn.conversation_id)))
    ).content
    assert turn.draft is not None and turn.draft.status == "INVALID" and turn.draft.version is None
    assert turn.status == (
        f"gave up after 2 repair(s) (ERP_ASSISTANT_MAX_REPAIRS=2): the draft still has 1 problem(s). No valid "
        f"draft: 1 problem(s) remain (draft #{turn.draft.id}, stage ground); no workflow version was stored and "
        "nothing changed."
    )
    assert _registry(engine).list(tenant_a.tenant, "never_valid") == []


def test_token_budget_stops_the_turn_then_refuses_without_sending(tenant_a: Ready, make_assistant: Make) -> None:
    heavy = Usage(input_tokens=700, output_tokens=100)
    model = ScriptedModel([
        ScriptedModel.call("list_catalog", {}).model_copy(update={"usage": heavy}),
        ScriptedModel.call("list_catalog", {}).model_copy(update={"usage": heavy}),
        ScriptedModel.say("unused"),
    ])
    assistant = make_assistant(model, token_budget=1000)
    turn = assistant.draft(tenant_a.tenant, "sync customers")
    assert turn.usage.total == 1600 and turn.draft is None
    assert turn.status.startswith("stopped: the conversation's token budget (1000, ERP_ASSISTANT_TOKEN_BUDGET) is "
                                  "spent; start a new conversation to continue.")
    sent = len(model.requests)
    with pytest.raises(BudgetExhausted) as caught:
        assistant.send(tenant_a.tenant, turn.conversation_id, "try again")
    assert str(caught.value) == (
        f"conversation {turn.conversation_id} of tenant {tenant_a.tenant!r} has used 1600 of its 1000 tokens "
        "(ERP_ASSISTANT_TOKEN_BUDGET): nothing was sent; start a new conversation "
        f"(`erp assistant chat {tenant_a.tenant}`) or raise the budget"
    )
    assert len(model.requests) == sent


def test_tool_rounds_are_bounded(tenant_a: Ready, make_assistant: Make) -> None:
    model = ScriptedModel([ScriptedModel.call("list_catalog", {}) for _ in range(5)])
    turn = make_assistant(model, max_tool_rounds=3).draft(tenant_a.tenant, "loop forever")
    assert turn.rounds == 3 and model.remaining == 2
    assert turn.status == ("stopped after 3 model calls (ERP_ASSISTANT_MAX_TOOL_ROUNDS) without finishing; nothing "
                           "more was sent. No draft was stored; nothing changed.")


def _anthropic_answering(status: int, body: dict[str, object]) -> AnthropicModel:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json=body)

    return AnthropicModel(SETTINGS.model_copy(update={"provider_retries": 0}), api_key="sk-test",
                          http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
         "the AI provider is rate limiting this API key (HTTP 429: slow down)"),
        (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
         "the AI provider is overloaded (HTTP 529: Overloaded)"),
    ],
)
def test_provider_down_offline_path_still_drafts(tenant_a: Ready, make_assistant: Make, status: int,
                                                 body: dict[str, object], expected: str) -> None:
    assistant = make_assistant(_anthropic_answering(status, body))
    turn = assistant.draft(tenant_a.tenant, f"sync items into items_{status} daily")
    assert turn.offline and turn.draft is not None and turn.draft.status == "VALID"
    assert turn.reply.startswith(f"(the AI provider failed ({expected}")
    stored = assistant.store.messages(tenant_a.tenant, turn.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"]
    with pytest.raises(ProviderUnavailable) as caught:
        assistant.draft(tenant_a.tenant, "what should I sync?")
    assert str(caught.value).startswith(expected)


def test_ai_off_switch_sends_nothing_and_offline_still_works(tenant_a: Ready, make_assistant: Make,
                                                            engine: Engine) -> None:
    model = ScriptedModel([ScriptedModel.say("hello")])
    assistant = make_assistant(model)
    (flag,) = set_ai(engine, tenant_a.tenant, on=False, reason="compliance review")
    try:
        turn = assistant.draft(tenant_a.tenant, "sync invoices into ai_off_invoices")
        assert model.requests == []
        assert turn.offline and turn.draft is not None and turn.draft.status == "VALID"
        assert turn.reply.startswith(f"(the AI assistant is off: ai_off flag #{flag.id} on tenant {tenant_a.tenant} "
                                     f"(set by {flag.set_by}: compliance review); turn it back on with "
                                     f"`erp assistant on {tenant_a.tenant}`; the offline assistant answered)")
    finally:
        set_ai(engine, tenant_a.tenant, on=True)
    assert make_assistant(model).draft(tenant_a.tenant, "hi").reply == "hello"
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM erp_control.audit_log WHERE target_type = 'control_flag' "
                                    "AND target_id = :id ORDER BY id"), {"id": str(flag.id)}).scalars().all()
    assert actions == ["flag.set", "flag.clear"]


def test_only_a_person_activates_and_rollback_is_one_call(tenant_a: Ready, make_assistant: Make,
                                                         engine: Engine) -> None:
    assistant = make_assistant()
    first = assistant.draft(tenant_a.tenant, "sync items into act_items every hour", offline=True)
    assert first.draft is not None and first.draft.version == 1
    assert [r.status for r in _registry(engine).list(tenant_a.tenant, "act_items_sync")] == ["DRAFT"]
    assistant.activate(tenant_a.tenant, first.draft.id)
    second = assistant.draft(tenant_a.tenant, "sync items into act_items every 15 minutes", offline=True)
    assert second.draft is not None and second.draft.version == 2 and second.draft.base_version == 1
    assert second.draft.report["changes"] == ["+ trigger schedule */15 * * * * (UTC)",
                                              "- trigger schedule 0 * * * * (UTC)"]
    assert [r.status for r in _registry(engine).list(tenant_a.tenant, "act_items_sync")] == ["ACTIVE", "DRAFT"]
    assistant.activate(tenant_a.tenant, second.draft.id)
    assert rollback(engine, tenant_a.tenant, "act_items_sync") == (2, 1)
    assert [r.status for r in _registry(engine).list(tenant_a.tenant, "act_items_sync")] == ["ACTIVE", "DEPRECATED"]


def test_provider_sees_metadata_only_unless_the_tenant_opts_in(tenant_a: Ready, make_assistant: Make,
                                                               service: object) -> None:
    assistant = make_assistant()
    first_page = assistant._sdks.call(tenant_a.tenant, "mock_erp", "list_customers", {"_page_size": 3}, pages=1)
    names = [r["name"] for r in first_page[0].records]

    def script() -> ScriptedModel:
        return ScriptedModel([
            ScriptedModel.call("submit_workflow", {"definition": crm_definition(workflow="privacy_crm")}),
            ScriptedModel.say("done"),
        ])

    quiet = script()
    make_assistant(quiet).draft(tenant_a.tenant, "sync customers")
    sent = "".join(r.model_dump_json() for r in quiet.requests)
    assert not any(name in sent for name in names)
    assert "sample_records" not in sent
    assistant.store.set_share_samples(tenant_a.tenant, True)
    try:
        shared = script()
        make_assistant(shared).draft(tenant_a.tenant, "sync customers")
        sent = "".join(r.model_dump_json() for r in shared.requests)
        assert "sample_records" in sent and any(name in sent for name in names)
    finally:
        assistant.store.set_share_samples(tenant_a.tenant, False)


def test_global_switch_turns_every_tenant_offline(tenant_a: Ready, tenant_b: Ready, make_assistant: Make,
                                                  engine: Engine) -> None:
    (flag,) = set_ai(engine, None, on=False, reason="provider contract under review")
    try:
        for ready in (tenant_a, tenant_b):
            model = ScriptedModel([ScriptedModel.say("should not be asked")])
            turn = make_assistant(model).draft(ready.tenant, "hello there")
            assert model.requests == [] and turn.offline
            assert turn.reply.startswith(f"(the AI assistant is off: ai_off flag #{flag.id} on global")
            assert "turn it back on with `erp assistant on`" in turn.reply
    finally:
        set_ai(engine, None, on=True)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_messages_are_refused(tenant_a: Ready, make_assistant: Make, text: str) -> None:
    from assistant import AssistantError

    assistant = make_assistant()
    conversation = assistant.start(tenant_a.tenant)
    with pytest.raises(AssistantError) as caught:
        assistant.send(tenant_a.tenant, conversation.id, text)
    assert str(caught.value) == ('the message is empty: say what the workflow should do, e.g. "sync customers into '
                                 'crm_customers every hour"')
