"""``erp deploy render-k8s``: values for Dagster's Helm chart, checked against the chart's published
``values.schema.json`` (vendored in deploy/helm) with the Kubernetes definitions it references resolved from
the kubernetes-validate package (Kubernetes 1.30), and per tenant."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import Engine

from erp_platform import ConfigurationError, InvalidInputError
from erp_platform.config import Settings, load_settings
from erp_platform.deploy import (
    DEFAULT_TIER_RESOURCES,
    TenantDeployment,
    helm_options,
    helm_values_text,
    registry_tenants,
    render_helm_values,
)
from erp_platform.orchestration import QueuePolicy, render_dagster_yaml
from erp_platform.tenancy import TenantService

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "deploy" / "helm" / "values.schema.json").read_text())
K8S_REF = "https://kubernetesjsonschema.dev/v1.18.0/_definitions.json"
VAULT_TOKEN = "s.vault-token-never-rendered"
DB_PASSWORD = "pg-password-never-rendered"
MASTER_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
TENANTS = [TenantDeployment("acme", "free"), TenantDeployment("big_corp", "enterprise"),
           TenantDeployment("mid_co_", "standard")]


def _k8s_registry() -> Registry:
    import kubernetes_validate

    folder = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / "v1.30.0-local"
    raw = json.loads((folder / "_definitions.json").read_text())
    contents = {"definitions": raw["$defs"], "$defs": raw["$defs"]}  # the chart refers to #/definitions/...
    return Registry().with_resource(K8S_REF, Resource.from_contents(contents, default_specification=DRAFT202012))


REGISTRY = _k8s_registry()


def schema_errors(values: dict[str, Any]) -> list[str]:
    """Every problem under both readings of the chart's schema (draft 7, as generated, and draft 2020-12)."""
    problems = []
    for validator in (jsonschema.Draft7Validator, jsonschema.Draft202012Validator):
        for error in validator(SCHEMA, registry=REGISTRY).iter_errors(values):
            problems.append(f"{validator.__name__}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
    return problems


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(
        object_store_url="s3://erp-artifacts/platform",
        s3_endpoint_url="https://s3.eu-central-1.amazonaws.com",
        s3_region="eu-central-1",
        vault_addr="https://vault.example.com:8200",
        vault_token=VAULT_TOKEN,
        master_key=MASTER_KEY,
        database_url=f"postgresql://erp:{DB_PASSWORD}@db.internal:5432/erp",
    )


@pytest.fixture(scope="module")
def values(settings: Settings) -> dict[str, Any]:
    options = helm_options(image="registry.example.com/erp", image_tag="1.4.2")
    return render_helm_values(settings, TENANTS, QueuePolicy(), options)


def test_rendered_values_validate_against_the_charts_published_schema(values: dict[str, Any]) -> None:
    assert schema_errors(values) == []
    text = helm_values_text(values, TENANTS)
    assert yaml.safe_load(text) == values  # the file holds exactly these values (no YAML aliases)
    assert "&id" not in text and "*id" not in text


def test_the_schema_check_catches_what_the_chart_refuses(values: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(values))
    del broken["dagster-user-deployments"]["deployments"][0]["port"]
    broken["dagster-user-deployments"]["deployments"][1]["resources"] = {"limits": {"cpu": ["2"]}}
    broken["runLauncher"]["config"]["k8sRunLauncher"]["jobNamspace"] = "typo"
    problems = schema_errors(broken)
    assert any("'port' is a required property" in p for p in problems)
    assert any("resources/limits/cpu" in p for p in problems)  # Kubernetes' own definition of a quantity
    assert any("jobNamspace" in p for p in problems)


def test_one_user_code_deployment_per_tenant(values: dict[str, Any]) -> None:
    deployments = values["dagster-user-deployments"]["deployments"]
    assert [d["name"] for d in deployments] == ["tenant-acme", "tenant-big-corp", deployments[2]["name"]]
    assert deployments[2]["name"].startswith("tenant-mid-co-") and len(deployments[2]["name"]) == 20
    for deployment, tenant in zip(deployments, TENANTS, strict=True):
        assert deployment["codeServerArgs"] == [
            "-m", "code_locations.tenants", "-a", tenant.slug, "--location-name", f"tenant_{tenant.slug}",
        ]
        assert deployment["image"] == {"repository": "registry.example.com/erp", "tag": "1.4.2",
                                       "pullPolicy": "IfNotPresent"}
        assert deployment["port"] == 3030
        assert deployment["labels"] == {"erp/tenant": tenant.slug, "erp/tier": tenant.tier}
        assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
        assert deployment["envSecrets"] == [{"name": "erp-platform-env"}]
        assert deployment["env"]["ERP_OBJECT_STORE_URL"] == "s3://erp-artifacts/platform"
        assert deployment["env"]["ERP_VAULT_ADDR"] == "https://vault.example.com:8200"


def test_runs_use_k8s_jobs_sized_by_tier_through_our_coordinator(values: dict[str, Any]) -> None:
    from dagster._config import process_config

    from erp_platform.orchestration import ErpRunCoordinator

    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "CustomRunCoordinator"
    custom = coordinator["config"]["customRunCoordinator"]
    assert (custom["module"], custom["class"]) == ("erp_platform.orchestration", "ErpRunCoordinator")
    assert process_config(ErpRunCoordinator.config_type(), custom["config"]).success
    tiers = custom["config"]["tier_run_k8s_config"]
    assert tiers["free"] == {"container_config": {"resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                                                                "limits": {"cpu": "1", "memory": "1Gi"}}}}
    assert tiers["enterprise"]["container_config"]["resources"]["limits"] == {"cpu": "4", "memory": "8Gi"}
    # the tier and tenant limits are the ones `erp dev` renders into dagster.yaml
    assert values["additionalInstanceConfig"] == {"concurrency": render_dagster_yaml(QueuePolicy())["concurrency"]}


def test_postgres_through_pgbouncer_s3_and_vault_with_secrets_by_reference_only(values: dict[str, Any]) -> None:
    postgres = values["postgresql"]
    assert postgres["enabled"] is False
    assert (postgres["postgresqlHost"], postgres["service"]["port"]) == ("erp-pgbouncer", 6432)
    assert postgres["postgresqlPassword"] == ""
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"] == "erp-postgresql"
    logs = values["computeLogManager"]["config"]["s3ComputeLogManager"]
    assert (logs["bucket"], logs["prefix"]) == ("erp-artifacts", "platform/dagster/compute-logs")
    text = helm_values_text(values, TENANTS)
    for secret in (VAULT_TOKEN, DB_PASSWORD, MASTER_KEY, "db.internal"):
        assert secret not in text
    assert "ERP_VAULT_TOKEN" not in text and "ERP_DATABASE_URL" not in text and "ERP_MASTER_KEY" not in text


def test_tenants_come_from_the_registry(engine: Engine, tenants: TenantService, settings: Settings) -> None:
    from erp_platform.queue import queue_policy

    tenants.create("helm_one", "standard")
    tenants.create("helm_two", "free")
    found = registry_tenants(engine)
    assert {TenantDeployment("helm_one", "standard"), TenantDeployment("helm_two", "free")} <= set(found)
    rendered = render_helm_values(settings, found, queue_policy(engine), helm_options())
    names = [d["name"] for d in rendered["dagster-user-deployments"]["deployments"]]
    assert {"tenant-helm-one", "tenant-helm-two"} <= set(names)
    assert schema_errors(rendered) == []


BAD_OPTIONS = [
    ({"platform_secret": "Erp_Secrets"},
     "invalid deployment option: --platform-secret: 'Erp_Secrets' is not a Kubernetes name (lowercase letters, "
     "digits, '-' and '.', e.g. erp-platform-env)"),
    ({"image": "Registry/ERP"},
     "invalid deployment option: --image: 'Registry/ERP' is not an image repository such as "
     "registry.example.com/erp-platform"),
    ({"tier_resources": {"gold": {}}},
     "invalid deployment option: --tier-resources: unknown tier 'gold': use free, standard, enterprise"),
    ({"tier_resources": {"free": {"requests": {"cpu": "lots", "memory": "1Gi"}, "limits": {"cpu": "1",
                                                                                         "memory": "1Gi"}}}},
     "invalid deployment option: --tier-resources (free.requests.cpu): 'lots' is not a Kubernetes quantity such "
     "as 500m, 2, 512Mi or 4Gi"),
    ({"pgbouncer_port": 0},
     "invalid deployment option: --pgbouncer-port: Input should be greater than or equal to 1"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS, ids=[next(iter(o)) for o, _ in BAD_OPTIONS])
def test_bad_options_are_refused_naming_the_flag(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        helm_options(**options)
    assert str(info.value) == message


BAD_SETTINGS = [
    ({"object_store_url": None},
     "a Kubernetes deployment keeps objects in S3 (pods share no disk): set ERP_OBJECT_STORE_URL to "
     "s3://bucket/prefix (and ERP_S3_ENDPOINT_URL for an S3-compatible store), then render again"),
    ({"vault_addr": None, "vault_token": None},
     "a Kubernetes deployment keeps credentials in Vault: set ERP_VAULT_ADDR (the token goes into the platform "
     "secret as ERP_VAULT_TOKEN, never into the values), then render again"),
]


@pytest.mark.parametrize(("change", "message"), BAD_SETTINGS, ids=["file-objects", "no-vault"])
def test_settings_that_cannot_run_on_kubernetes_are_refused(
    settings: Settings, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        render_helm_values(settings.model_copy(update=change), TENANTS, QueuePolicy(), helm_options())
    assert str(info.value) == message
    assert VAULT_TOKEN not in str(info.value)


def test_default_tier_resources_cover_every_tier() -> None:
    from erp_platform.registry import TIERS

    assert set(DEFAULT_TIER_RESOURCES) == set(TIERS)


def test_erp_deploy_render_k8s_writes_the_values_file(pg_url: str, erp_home: Path, engine: Engine,
                                                       tmp_path: Path) -> None:
    from tests.support.cli import ErpCli

    env = (("ERP_OBJECT_STORE_URL", "s3://erp-artifacts/platform"), ("ERP_VAULT_ADDR", "https://vault:8200"),
           ("ERP_VAULT_TOKEN", VAULT_TOKEN))
    cli = ErpCli(database_url=pg_url, home=erp_home, extra_env=env)
    out = tmp_path / "helm" / "values.yaml"
    tiers = tmp_path / "tiers.yaml"
    tiers.write_text("enterprise:\n  requests: {cpu: '2', memory: 4Gi}\n  limits: {cpu: '8', memory: 16Gi}\n")
    result = cli("deploy", "render-k8s", "--out", str(out), "--image", "registry:5000/erp:2.0",
                 "--tier-resources", str(tiers), "--json")
    assert result.code == 0, result.stderr
    written = yaml.safe_load(out.read_text())
    assert result.json()["deployments"] == [d["name"] for d in written["dagster-user-deployments"]["deployments"]]
    assert written["dagsterDaemon"]["image"]["repository"] == "registry:5000/erp"
    assert written["dagsterDaemon"]["image"]["tag"] == "2.0"
    tier_config = written["dagsterDaemon"]["runCoordinator"]["config"]["customRunCoordinator"]["config"]
    assert tier_config["tier_run_k8s_config"]["enterprise"]["container_config"]["resources"]["limits"] == {
        "cpu": "8", "memory": "16Gi"}
    assert schema_errors(written) == []
    assert VAULT_TOKEN not in out.read_text()

    bad = cli("deploy", "render-k8s", "--out", str(out), "--postgres-secret", "Not_A_Name")
    assert bad.code == 2
    assert bad.stderr.strip() == (
        "error: invalid deployment option: --postgres-secret: 'Not_A_Name' is not a Kubernetes name (lowercase "
        "letters, digits, '-' and '.', e.g. erp-platform-env)"
    )
