"""A draft whose SDK lacks credentials: the dry run does not call the ERP, the model is told the draft cannot
fix it, and the user gets the exact command for each missing credential (real build, registry, Dagster)."""

from __future__ import annotations

import json
from collections.abc import Callable

from assistant import Assistant, ModelRequest, ModelResponse, ScriptedModel, ToolResult
from erp_platform.credentials import CredentialStore
from erp_platform.sdks import SdkService, SdkVersionInfo
from tests.assistant.drafts import crm_definition

Make = Callable[..., Assistant]


def test_missing_credentials_reach_the_user_as_commands_and_the_model_is_told_not_to_repair(
    service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo], credentials: CredentialStore,
    make_assistant: Make,
) -> None:
    info = mock_sdk_factory("nocred")
    tenant = info.tenant
    credentials.set(tenant, "x_erp_tenant", "acme", sdk="mock_erp")
    credentials.set(tenant, "token", "tok-removed-later", sdk="mock_erp")
    service.activate(info.tenant, info.name, info.version)
    credentials.delete(tenant, "token", sdk="mock_erp")  # one of the two: only the token is missing

    def told(request: ModelRequest) -> ModelResponse:
        result = request.messages[-1].content[-1]
        assert isinstance(result, ToolResult) and result.is_error
        assert result.content.startswith("the draft is valid and compiles, but its dry run cannot call the ERP: the "
                                         "tenant has not set credentials the SDK needs. Changing the draft cannot "
                                         "fix this: tell the user to set them, then ask again:\n- activities[0]"
                                         ".config.sdk: SDK 'mock_erp' v1 needs credential that tenant ")
        assert f'`printf %s "$VALUE" | erp credentials set {tenant} token --sdk mock_erp`' in result.content
        return ScriptedModel.say("Set the ERP token first.")

    model = ScriptedModel([ScriptedModel.call("submit_workflow", {"definition": crm_definition(workflow="cred_crm")}),
                           told])
    turn = make_assistant(model).draft(tenant, "sync customers into crm_customers hourly")
    assert turn.submissions == 1 and turn.reply == "Set the ERP token first."
    assert turn.draft is not None and turn.draft.status == "INVALID" and turn.draft.report["stage"] == "dry_run"
    needs = turn.draft.report["dry_run"]["credentials_needed"]
    assert [(n["sdk"], n["credential"]["name"], n["credential"]["location"]) for n in needs] == [
        ("mock_erp", "token", "auth")]
    purpose = needs[0]["credential"]["purpose"]
    assert purpose and turn.status.endswith(
        "\nThe dry run needs credentials this tenant has not set; set each with the ERP's value:\n"
        f'  printf %s "$VALUE" | erp credentials set {tenant} token --sdk mock_erp   # SDK mock_erp: {purpose}'
    )
    assert turn.draft.report["dry_run"]["extracts"] == []  # the ERP was not called
    assert "x_erp_tenant" not in json.dumps(needs)  # the credential that is set is not asked for
