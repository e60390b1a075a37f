"""On Kubernetes the run coordinator sizes every admitted run's pod by its tenant's tier (the
``dagster-k8s/config`` tag), replacing whatever the run asked for: a tenant cannot give its runs more CPU or
memory than its tier, mount host paths, or borrow another tier's resources. Real Dagster instance on Postgres,
real coordinator and admission."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin

from erp_platform.deploy import DEFAULT_TIER_RESOURCES, run_k8s_config
from erp_platform.orchestration import QueuePolicy, dagster_pg_url, render_dagster_yaml
from erp_platform.tenancy import TenantService

K8S_TAG = "dagster-k8s/config"
GREEDY = json.dumps({
    "container_config": {"resources": {"requests": {"cpu": "64", "memory": "256Gi"}}},
    "pod_spec_config": {"volumes": [{"name": "host", "host_path": {"path": "/"}}], "host_network": True},
})


@dg.op
def _noop() -> None:
    return None


@dg.job
def k8s_probe() -> None:
    _noop()


def _instance(home: Path, pg_url: str, *, tier_config: bool) -> DagsterInstance:
    config = render_dagster_yaml(QueuePolicy(), process_mode="stock")
    config["storage"] = {"postgres": {"postgres_url": dagster_pg_url(pg_url)}}
    if tier_config:
        config["run_coordinator"]["config"]["tier_run_k8s_config"] = {
            tier: run_k8s_config(resources) for tier, resources in DEFAULT_TIER_RESOURCES.items()
        }
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return DagsterInstance.from_config(str(home))


@pytest.fixture(scope="module")
def k8s_instance(tmp_path_factory: pytest.TempPathFactory, pg_url: str, tenants: TenantService,
                 ) -> Iterator[DagsterInstance]:
    tenants.create("k8s_free", "free")
    tenants.create("k8s_ent", "enterprise")
    instance = _instance(tmp_path_factory.mktemp("k8s_home"), pg_url, tier_config=True)
    yield instance
    instance.dispose()


def _origin(tenant: str) -> RemoteJobOrigin:
    """The run comes from the tenant's code location (its code server need not answer: runs only queue here)."""
    location = GrpcServerCodeLocationOrigin(host="localhost", port=1, location_name=f"tenant_{tenant}")
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), "k8s_probe")


def _submit(instance: DagsterInstance, tenant: str, tags: dict[str, str]) -> dict[str, str]:
    code = RepositoryPythonOrigin(sys.executable, ModuleCodePointer("code_locations.tenants", tenant), None, None, None)
    run = instance.create_run_for_job(
        k8s_probe, tags=tags, remote_job_origin=_origin(tenant), job_code_origin=JobPythonOrigin("k8s_probe", code)
    )
    instance.submit_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    stored = instance.get_run_by_id(run.run_id)
    assert stored is not None and stored.status == DagsterRunStatus.QUEUED
    return dict(stored.tags)


def _expected(tier: str) -> str:
    return json.dumps(run_k8s_config(DEFAULT_TIER_RESOURCES[tier]), sort_keys=True)


def test_a_run_asking_for_more_gets_its_tiers_pod_config(k8s_instance: DagsterInstance) -> None:
    tags = _submit(k8s_instance, "k8s_free", {K8S_TAG: GREEDY})
    assert tags[K8S_TAG] == _expected("free")
    assert "host_path" not in tags[K8S_TAG] and "64" not in tags[K8S_TAG]


def test_a_tenant_cannot_borrow_another_tiers_resources(k8s_instance: DagsterInstance) -> None:
    tags = _submit(k8s_instance, "k8s_free", {"erp/tier": "enterprise", K8S_TAG: _expected("enterprise")})
    assert tags["erp/tier"] == "free"
    assert tags[K8S_TAG] == _expected("free")
    assert _submit(k8s_instance, "k8s_ent", {})[K8S_TAG] == _expected("enterprise")


def test_without_tier_config_runs_keep_their_tags(tmp_path: Path, pg_url: str, k8s_instance: DagsterInstance) -> None:
    instance = _instance(tmp_path / "home", pg_url, tier_config=False)
    try:
        tags = _submit(instance, "k8s_ent", {})
        assert K8S_TAG not in tags
        assert tags["erp/tier"] == "enterprise"
    finally:
        instance.dispose()
