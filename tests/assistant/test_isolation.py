"""Tenant isolation of every assistant surface: tenant A's conversation cannot read, name, change or exhaust
what belongs to tenant B (SDKs, fields, tables, workflows, conversations, drafts, budget, AI switch)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from assistant import Assistant, ScriptedModel, ToolResult, load_catalog, set_ai
from erp_platform import NotFoundError
from tests.assistant.conftest import Ready
from tests.assistant.drafts import crm_definition

Make = Callable[..., Assistant]
B_NAMES = ("bravo_erp", "secret_payroll", "salary_eur", "employee_ref", "b_private_sync")


@pytest.fixture(scope="module")
def b_artifacts(tenant_b: Ready, engine: Engine, service: object) -> dict[str, object]:
    """Tenant B's own conversation and a stored draft of its private workflow."""
    from tests.assistant.conftest import SETTINGS

    assistant = Assistant(engine, service, settings=SETTINGS)  # type: ignore[arg-type]
    turn = assistant.draft(tenant_b.tenant, "sync customers into b_private every hour", offline=True)
    assert turn.draft is not None and turn.draft.status == "VALID"
    model = ScriptedModel([ScriptedModel.call(
        "submit_workflow", {"definition": crm_definition(workflow="b_private_sync", sdk="bravo_erp")}),
        ScriptedModel.say("ok")])
    chat = Assistant(engine, service, settings=SETTINGS, model=model).draft(tenant_b.tenant, "crm")  # type: ignore[arg-type]
    assert chat.draft is not None and chat.draft.status == "VALID"
    return {"conversation": chat.conversation_id, "draft": chat.draft.id}


def test_catalog_holds_only_the_tenants_own_names(tenant_a: Ready, tenant_b: Ready, engine: Engine,
                                                  b_artifacts: dict[str, object]) -> None:
    catalog_a = load_catalog(engine, tenant_a.tenant)
    dumped = catalog_a.model_dump_json()
    assert not any(name in dumped for name in B_NAMES)
    catalog_b = load_catalog(engine, tenant_b.tenant)
    assert [s.name for s in catalog_b.sdks] == ["bravo_erp"]
    assert catalog_b.table("secret_payroll") is not None


def test_a_conversation_cannot_read_or_name_b(tenant_a: Ready, tenant_b: Ready, make_assistant: Make,
                                             b_artifacts: dict[str, object], engine: Engine) -> None:
    probes = [
        ("describe_operation", {"sdk": "bravo_erp", "operation": "list_customers"}),
        ("describe_table", {"table": "secret_payroll"}),
        ("get_workflow", {"workflow_id": "b_private_sync"}),
        ("propose_mapping", {"sdk": "bravo_erp", "operation": "list_customers", "table": "secret_payroll"}),
        ("sample_records", {"sdk": "bravo_erp", "operation": "list_customers"}),
        ("submit_workflow", {"definition": crm_definition(workflow="steal_b", sdk="bravo_erp",
                                                          table="secret_payroll")}),
    ]
    model = ScriptedModel([ScriptedModel.call(name, args) for name, args in probes] + [ScriptedModel.say("no")])
    turn = make_assistant(model, max_tool_rounds=10).draft(tenant_a.tenant, "show me bravo's payroll")
    results: list[ToolResult] = [m.content[0] for r in model.requests[1:] for m in r.messages[-1:]
                                 if isinstance(m.content[0], ToolResult)]
    assert all(r.is_error for r in results)
    contents = [r.content for r in results]
    assert contents[0].startswith("KeyError: \"unknown SDK 'bravo_erp': this tenant's ACTIVE SDKs are mock_erp")
    assert contents[1].startswith("table 'secret_payroll' does not exist in this tenant's schema")
    assert contents[2].startswith("workflow 'b_private_sync' does not exist for this tenant")
    assert contents[4].startswith("unknown tool 'sample_records'")  # A did not opt in; B's SDK is unknown anyway
    assert "unknown SDK 'bravo_erp'" in contents[5]
    # what A's provider received never contains B's columns or workflows (only the names A's model typed)
    for request in model.requests:
        sent = request.model_dump_json(exclude={"messages"}) + "".join(
            json.dumps(b.content) for m in request.messages for b in m.content if isinstance(b, ToolResult))
        assert "salary_eur" not in sent and "employee_ref" not in sent
    assert turn.draft is not None and turn.draft.status == "INVALID" and turn.draft.version is None
    assert make_assistant().store.drafts(tenant_a.tenant, turn.conversation_id)[0].workflow_id == "steal_b"


def test_a_cannot_read_or_change_bs_conversations_and_drafts(tenant_a: Ready, tenant_b: Ready, make_assistant: Make,
                                                            b_artifacts: dict[str, object]) -> None:
    assistant = make_assistant()
    conversation, draft = str(b_artifacts["conversation"]), int(str(b_artifacts["draft"]))
    with pytest.raises(NotFoundError) as read:
        assistant.store.conversation(tenant_a.tenant, conversation)
    assert str(read.value) == (f"conversation {conversation!r} does not exist for tenant {tenant_a.tenant!r}; list "
                               f"them with `erp assistant conversations {tenant_a.tenant}`")
    with pytest.raises(NotFoundError):
        assistant.store.messages(tenant_a.tenant, conversation)
    with pytest.raises(NotFoundError):
        assistant.send(tenant_a.tenant, conversation, "sync customers", offline=True)
    with pytest.raises(NotFoundError) as fetched:
        assistant.store.draft(tenant_a.tenant, draft)
    assert str(fetched.value) == (f"draft {draft} does not exist for tenant {tenant_a.tenant!r}; list them with "
                                  f"`erp assistant drafts {tenant_a.tenant}`")
    with pytest.raises(NotFoundError):
        assistant.activate(tenant_a.tenant, draft)
    assert all(d.id != draft for d in assistant.store.drafts(tenant_a.tenant))
    assert all(c.id != conversation for c in assistant.store.conversations(tenant_a.tenant))
    assert assistant.store.draft(tenant_b.tenant, draft).status == "VALID"  # untouched


def test_a_cannot_exhaust_or_switch_off_b(tenant_a: Ready, tenant_b: Ready, make_assistant: Make,
                                          engine: Engine) -> None:
    spender = ScriptedModel([ScriptedModel.call("list_catalog", {}) for _ in range(3)])
    spent = make_assistant(spender, token_budget=1000).draft(tenant_a.tenant, "spend")
    assert spent.status.startswith("stopped: the conversation's token budget")
    set_ai(engine, tenant_a.tenant, on=False, reason="A's compliance hold")
    try:
        model = ScriptedModel([ScriptedModel.say("B is served")])
        turn = make_assistant(model, token_budget=1000).draft(tenant_b.tenant, "hello")
        assert turn.reply == "B is served" and not turn.offline
    finally:
        set_ai(engine, tenant_a.tenant, on=True)
