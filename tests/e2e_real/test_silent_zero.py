"""Silent zero, end to end: an SDK whose record selector misses the records the ERP sent makes the run FAIL,
naming the operation, what the response held and the rebuild that fixes it; nothing is loaded and the
extract's ``record_count`` check does not pass."""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from erp_platform.sdks import SdkService
from erp_platform.workflows import RegistrySdkCatalog, ScaffoldRequest, scaffold_workflow
from sdk_builder import parse_overrides
from tests.e2e_real.harness import RealSync, credential_value, table_rows
from tests.support.corpus import load_corpus

TENANT = "rs_silent_zero"


def test_a_selector_that_finds_nothing_fails_the_run_loudly(real_sync: RealSync) -> None:
    stack, entry = real_sync.stack, load_corpus().get("square")
    server = real_sync.pool.get(entry)
    plat = stack.platform
    plat.tenants.create(TENANT, "standard")
    plat.tenants.allow_private_egress(TENANT, server.host_port)
    service = SdkService.from_platform(plat)
    wrong = parse_overrides(None, ["list_customers.record_path=payments"])
    built = service.build(TENANT, entry.file, base_url=server.url, overrides=wrong)
    for cred in built.credentials:
        plat.credentials.set(TENANT, cred.name, credential_value(entry, cred.name, cred.wire_name), sdk=built.name)
    service.activate(TENANT, built.name, built.version)
    info = RegistrySdkCatalog(plat.engine, TENANT).versions(built.name)[-1]
    stack.apply_workflow(TENANT, scaffold_workflow(info, ScaffoldRequest(operations=("list_customers",),
                                                                         workflow_id="zero_sync")))

    run_id, status = stack.run(TENANT, "zero_sync")

    assert status == "FAILURE"
    from erp_platform.orchestration import run_failure_message

    message = run_failure_message(stack.instance, run_id) or ""
    assert "operation 'list_customers'" in message
    assert ("the response held 1 item under `customers` but the selector `payments` found no records: the SDK "
            "reads records from the wrong place. Rebuild it with --set list_customers.record_path=customers") in message
    assert table_rows(stack, TENANT, "customers") == []
    extract = dg.AssetKey([TENANT, "zero_sync", "customers"])
    assert stack.instance.get_latest_materialization_event(extract) is None
    check = dg.AssetCheckKey(extract, "record_count")
    latest = stack.instance.event_log_storage.get_latest_asset_check_execution_by_key([check]).get(check)
    assert latest is None or latest.status is not AssetCheckExecutionRecordStatus.SUCCEEDED
