"""Queue settings from ERP_QUEUE_* and the policy rendered into dagster.yaml from them and the registry."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import Engine

from erp_platform._errors import ConfigurationError
from erp_platform.orchestration import dagster_yaml_text
from erp_platform.queue import load_queue_settings, queue_policy, tenant_run_tags, tier_tenant_caps
from erp_platform.tenancy import TenantService


def test_defaults() -> None:
    settings = load_queue_settings()
    assert settings.tier_run_limits == {"free": 5, "standard": 20, "enterprise": 100}
    assert settings.max_queue_depth == {"free": 400, "standard": 2000, "enterprise": 10000}
    assert (settings.max_concurrent_runs, settings.pool_default_limit, settings.dequeue_interval_seconds) == (
        125, 4, 1)


def test_a_partial_per_tier_setting_keeps_the_other_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_QUEUE_TIER_RUN_LIMITS", '{"free": 8}')
    monkeypatch.setenv("ERP_QUEUE_MAX_QUEUE_DEPTH", '{"enterprise": 50000}')
    settings = load_queue_settings()
    assert settings.tier_run_limits == {"free": 8, "standard": 20, "enterprise": 100}
    assert settings.max_queue_depth == {"free": 400, "standard": 2000, "enterprise": 50000}


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("ERP_QUEUE_TIER_RUN_LIMITS", '{"gold": 5}',
     "invalid queue setting: ERP_QUEUE_TIER_RUN_LIMITS: unknown tier 'gold': use free, standard, enterprise"),
    ("ERP_QUEUE_TIER_RUN_LIMITS", '{"free": -1}',
     "invalid queue setting: ERP_QUEUE_TIER_RUN_LIMITS: free: must be a non-negative integer (received -1)"),
    ("ERP_QUEUE_MAX_QUEUE_DEPTH", '{"free": "many"}',
     "invalid queue setting: ERP_QUEUE_MAX_QUEUE_DEPTH: free: must be a non-negative integer "
     "(received 'many')"),
    ("ERP_QUEUE_MAX_QUEUE_DEPTH", "[1, 2]",
     'invalid queue setting: ERP_QUEUE_MAX_QUEUE_DEPTH: must be a JSON object of tier -> integer, e.g. '
     '{"free": 5}'),
    ("ERP_QUEUE_MAX_CONCURRENT_RUNS", "0",
     "invalid queue setting: ERP_QUEUE_MAX_CONCURRENT_RUNS: Input should be greater than or equal to 1"),
    ("ERP_QUEUE_DEQUEUE_INTERVAL_SECONDS", "soon",
     "invalid queue setting: ERP_QUEUE_DEQUEUE_INTERVAL_SECONDS: Input should be a valid integer, unable to "
     "parse string as an integer"),
])
def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
                                        message: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_queue_settings()
    assert str(caught.value) == message


def test_the_policy_renders_tier_caps_and_the_tenant_caps_in_use(engine: Engine, tenants: TenantService,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for slug, tier in (("pol_free", "free"), ("pol_ent", "enterprise"), ("pol_same", "standard")):
        if slug not in {t.slug for t in tenants.list()}:
            tenants.create(slug, tier)
    tenants.set_quotas("pol_free", {"max_concurrent_jobs": 3})
    tenants.set_quotas("pol_ent", {"max_concurrent_jobs": 7})
    tenants.set_quotas("pol_same", {"max_concurrent_jobs": 10})  # the standard tier's default: no extra cap
    monkeypatch.setenv("ERP_QUEUE_TIER_RUN_LIMITS", '{"free": 6}')
    policy = queue_policy(engine)
    assert policy.tier_run_limits == {"free": 6, "standard": 20, "enterprise": 100}
    assert policy.tenant_run_limits == tier_tenant_caps() == {"free": 2, "standard": 10, "enterprise": 50}
    assert set(policy.extra_tenant_caps) >= {3, 7}
    assert 10 not in policy.extra_tenant_caps
    limits = yaml.safe_load(dagster_yaml_text(policy))["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "erp/tier", "value": "free", "limit": 6} in limits
    assert {"key": "erp/tenant_free", "value": {"applyLimitPerUniqueValue": True}, "limit": 2} in limits
    assert {"key": "erp/tenant_cap_7", "value": {"applyLimitPerUniqueValue": True}, "limit": 7} in limits

    overridden = tenants.get("pol_ent")
    assert tenant_run_tags(overridden) == {"erp/tenant": "pol_ent", "erp/tier": "enterprise",
                                           "erp/tenant_cap_7": "pol_ent"}
    # an instance configured before the override existed: the tier's cap key, never no cap at all
    assert tenant_run_tags(overridden, configured_keys={"erp/tier", "erp/tenant_enterprise"}) == {
        "erp/tenant": "pol_ent", "erp/tier": "enterprise", "erp/tenant_enterprise": "pol_ent"}
    assert tenant_run_tags(tenants.get("pol_same"))["erp/tenant_standard"] == "pol_same"
