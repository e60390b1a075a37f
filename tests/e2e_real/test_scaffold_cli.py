"""A new user's path on a real published spec, through the real ``erp`` command: scaffold a workflow for an
SDK built from the spec, apply it unchanged, activate it, run it through the queue; the rows are there."""

from __future__ import annotations

from pathlib import Path

from tests.e2e_real.harness import RealSync, table_rows
from tests.support.cli import ErpCli
from tests.support.corpus import load_corpus

TENANT = "rs_cli_square"


def test_scaffolded_workflow_applies_unchanged_and_loads_rows(real_sync: RealSync, tmp_path: Path) -> None:
    from erp_platform.sdks import SdkService
    from tests.e2e_real.harness import credential_value

    stack, entry = real_sync.stack, load_corpus().get("square")
    server = real_sync.pool.get(entry)
    plat = stack.platform
    plat.tenants.create(TENANT, "standard")
    plat.tenants.allow_private_egress(TENANT, server.host_port)
    service = SdkService.from_platform(plat)
    built = service.build(TENANT, entry.file, base_url=server.url)
    for cred in built.credentials:
        plat.credentials.set(TENANT, cred.name, credential_value(entry, cred.name, cred.wire_name), sdk=built.name)
    service.activate(TENANT, built.name, built.version)
    erp = ErpCli(database_url=plat.settings.database_url or "", home=plat.settings.resolved_home)
    wf = tmp_path / "square.yaml"

    scaffolded = erp("workflow", "scaffold", TENANT, built.name, "list_customers", "list_locations", "-o", str(wf))
    assert scaffolded.code == 0, scaffolded.stderr
    applied = erp("workflow", "apply", TENANT, str(wf), "--json")
    assert applied.code == 0, applied.stderr
    body = applied.json()
    assert body["loads"]["load_customers"]["business_key"] == ["id"]
    activated = erp("workflow", "activate", TENANT, body["workflow_id"], str(body["version"]))
    assert activated.code == 0, activated.stderr
    stack.refresh_locations()
    _, status = stack.run(TENANT, body["workflow_id"])
    assert status == "SUCCESS"
    customers = table_rows(stack, TENANT, "customers")
    locations = table_rows(stack, TENANT, "locations")
    assert len(customers) >= 1 and len(locations) >= 1
    assert {"id", "given_name", "created_at", "_erp_run_id"} <= set(customers[0])
