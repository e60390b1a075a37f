"""The change sensor of a workflow, evaluated against the package's running stack (mock ERP, Postgres,
Dagster instance): it waits for the first sync, then requests runs only when the ERP has changed records.

It lives in its own module so that no other module's stack is running: the sensor is built by this process's
platform, which reads the settings of the stack that runs now."""

from __future__ import annotations

import dagster as dg

from erp_platform.demo import workflow_text
from erp_platform.orchestration import build_tenant_definitions
from tests.support.stack import Stack


def test_the_change_sensor_waits_for_the_first_sync(stack: Stack) -> None:
    """Activation alone starts no run: before a load has committed the cursor the sensor skips, saying why;
    after a sync it requests a run when the ERP has changed records. (Sensor logic, not process mode: it runs
    on the package's stack, whose settings are this test process's while no other stack runs.)"""
    fresh = "e2e_fresh"
    stack.onboard(fresh, "standard", erp_code="acme", token="tok-acme")
    stack.apply_workflow(fresh, workflow_text(), params={"erp_tenant": "acme"})
    sensor = build_tenant_definitions(fresh).resolve_sensor_def("sales_sync__erp_change_1")
    with dg.build_sensor_context(instance=stack.instance) as context:
        waiting = sensor.evaluate_tick(context)
    assert waiting.run_requests == []
    assert waiting.skip_message == (
        "waiting for the first successful sync of 'sales_sync': changes are watched from then on (start it "
        "with `erp run e2e_fresh sales_sync` or wait for its schedule)"
    )
    _, status = stack.run(fresh, "sales_sync")
    assert status == "SUCCESS"
    with dg.build_sensor_context(instance=stack.instance) as context:
        unchanged = sensor.evaluate_tick(context)
    assert unchanged.run_requests == [] and unchanged.skip_message.startswith("no records changed since ")
    stack.mock.simulate("acme", "sales_orders", append=2)
    with dg.build_sensor_context(instance=stack.instance) as context:
        changed = sensor.evaluate_tick(context)
    assert [r.tags["erp/trigger"] for r in changed.run_requests] == ["sales_sync__erp_change_1"]
