"""Values for Dagster's official Helm chart, rendered from the tenant registry (``erp deploy render-k8s``).

One user-code deployment per tenant (a stock ``dagster code-server start`` serving ``code_locations.tenants``
for that tenant), Dagster's ``K8sRunLauncher`` for runs, our run coordinator with the platform's tier and
tenant limits, and per-tier run pod resources: the coordinator puts the tenant's tier resources on every run
it admits (the ``dagster-k8s/config`` run tag, replacing whatever the run carried), so a tenant cannot ask for
more than its tier. Postgres is reached through PgBouncer; objects live in S3 and credentials in Vault.
Secrets appear only by reference (names of existing Kubernetes secrets), never as values.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine, text

from erp_platform._errors import ConfigurationError, InvalidInputError
from erp_platform.config import Settings
from erp_platform.orchestration import QueuePolicy, render_dagster_yaml
from erp_platform.orchestration._code_server import CODE_LOCATIONS_MODULE

CODE_SERVER_PORT = 3030
COORDINATOR_MODULE = "erp_platform.orchestration"
COORDINATOR_CLASS = "ErpRunCoordinator"
_QUANTITY_RE = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?")
_K8S_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL_MAX = 63
_IMAGE_RE = re.compile(r"[a-z0-9]+([._/:-][a-z0-9]+)*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_TENANTS_SQL = text("SELECT slug, tier FROM erp_control.tenants WHERE status <> 'deleted' ORDER BY slug")
_FLAGS = {
    "image": "--image",
    "image_tag": "--image",
    "namespace": "--namespace",
    "platform_secret": "--platform-secret",
    "postgres_secret": "--postgres-secret",
    "pgbouncer_host": "--pgbouncer-host",
    "pgbouncer_port": "--pgbouncer-port",
    "database": "--database",
    "database_user": "--database-user",
    "tier_resources": "--tier-resources",
}


class ResourceAmounts(BaseModel):
    """CPU and memory as Kubernetes quantities (``500m``, ``2``, ``1Gi``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu: str
    memory: str

    @field_validator("cpu", "memory", mode="before")
    @classmethod
    def _check_quantity(cls, value: object) -> str:
        quantity = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        if not isinstance(quantity, str) or not _QUANTITY_RE.fullmatch(quantity):
            raise ValueError(f"{value!r} is not a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi")
        return quantity


class JobResources(BaseModel):
    """Requests and limits of one container."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests: ResourceAmounts
    limits: ResourceAmounts

    def k8s(self) -> dict[str, dict[str, str]]:
        return {"requests": self.requests.model_dump(), "limits": self.limits.model_dump()}


def _resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> JobResources:
    return JobResources(
        requests=ResourceAmounts(cpu=cpu, memory=memory), limits=ResourceAmounts(cpu=cpu_limit, memory=memory_limit)
    )


DEFAULT_TIER_RESOURCES: dict[str, JobResources] = {
    "free": _resources("250m", "512Mi", "1", "1Gi"),
    "standard": _resources("500m", "1Gi", "2", "4Gi"),
    "enterprise": _resources("1", "2Gi", "4", "8Gi"),
}
CODE_SERVER_RESOURCES = _resources("100m", "256Mi", "1", "1Gi")


class HelmOptions(BaseModel):
    """What ``erp deploy render-k8s`` needs besides the registry and the platform settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    image: str = Field("erp-platform", description="image repository of the platform (code servers, runs, UI)")
    image_tag: str = Field(
        default_factory=lambda: version("erp-platform"), description="image tag (use a unique tag per release)"
    )
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    namespace: str | None = Field(None, description="namespace of run jobs (default: the release's)")
    platform_secret: str = Field(
        "erp-platform-env",
        description="existing Secret whose keys become environment variables: ERP_DATABASE_URL, ERP_VAULT_TOKEN "
        "and, unless the service account grants S3 access, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
    )
    postgres_secret: str = Field(
        "erp-postgresql", description="existing Secret with key postgresql-password (Dagster's storage)"
    )
    pgbouncer_host: str = Field("erp-pgbouncer", description="PgBouncer service in front of Postgres")
    pgbouncer_port: int = Field(6432, ge=1, le=65535)
    database: str = "erp"
    database_user: str = "erp"
    tier_resources: dict[str, JobResources] = Field(default_factory=lambda: dict(DEFAULT_TIER_RESOURCES))

    @field_validator("image")
    @classmethod
    def _check_image(cls, value: str) -> str:
        if not _IMAGE_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not an image repository such as registry.example.com/erp-platform")
        return value

    @field_validator("image_tag")
    @classmethod
    def _check_tag(cls, value: str) -> str:
        if not _TAG_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not an image tag such as 0.1.0")
        return value

    @field_validator("namespace", "platform_secret", "postgres_secret", "pgbouncer_host")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 253 or not _K8S_NAME_RE.fullmatch(value)):
            raise ValueError(
                f"{value!r} is not a Kubernetes name (lowercase letters, digits, '-' and '.', e.g. erp-platform-env)"
            )
        return value

    @field_validator("tier_resources", mode="before")
    @classmethod
    def _merge_tiers(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise ValueError('must map tiers to {requests: {cpu, memory}, limits: {cpu, memory}}')
        unknown = sorted(set(value) - set(DEFAULT_TIER_RESOURCES))
        if unknown:
            raise ValueError(f"unknown tier {unknown[0]!r}: use {', '.join(DEFAULT_TIER_RESOURCES)}")
        return {**DEFAULT_TIER_RESOURCES, **value}


def helm_options(**values: Any) -> HelmOptions:
    """Build :class:`HelmOptions`, reporting every problem with the CLI flag to change.

    Raises:
        InvalidInputError: one line per problem, e.g. ``--platform-secret: 'Bad_Name' is not a Kubernetes name``.
    """
    try:
        return HelmOptions(**values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = [str(part) for part in err["loc"]]
            flag = _FLAGS.get(loc[0], "--" + loc[0].replace("_", "-")) if loc else "?"
            where = f"{flag} ({'.'.join(loc[1:])})" if len(loc) > 1 else flag
            lines.append(f"{where}: {str(err['msg']).removeprefix('Value error, ')}")
        raise InvalidInputError("invalid deployment option: " + "; ".join(lines)) from None


@dataclass(frozen=True)
class TenantDeployment:
    """A tenant that gets a user-code deployment."""

    slug: str
    tier: str

    @property
    def name(self) -> str:
        """The deployment (and service) name: ``tenant-<slug>`` with ``_`` as ``-``, a DNS label."""
        base = "tenant-" + self.slug.replace("_", "-")
        if base.endswith("-"):  # a DNS label ends with a letter or digit: keep names distinct with a hash
            base += hashlib.sha256(self.slug.encode()).hexdigest()[:6]
        return base


def registry_tenants(engine: Engine) -> list[TenantDeployment]:
    """Tenants with a code location (active or suspended), by slug."""
    with engine.connect() as conn:
        return [TenantDeployment(slug=row.slug, tier=row.tier) for row in conn.execute(_TENANTS_SQL)]


def run_k8s_config(resources_: JobResources) -> dict[str, Any]:
    """The ``dagster-k8s/config`` tag value that sizes a run pod."""
    return {"container_config": {"resources": resources_.k8s()}}


def render_helm_values(
    settings: Settings, tenants: list[TenantDeployment], policy: QueuePolicy, options: HelmOptions
) -> dict[str, Any]:
    """The chart's values for ``tenants``: complete, so they validate against the chart's schema as they are.

    Raises:
        ConfigurationError: the settings cannot run on Kubernetes (objects on local disk, no Vault).
        InvalidInputError: two tenants would get the same deployment name.
    """
    env = _platform_env(settings)
    secrets = [{"name": options.platform_secret}]
    image = {"repository": options.image, "tag": options.image_tag, "pullPolicy": options.pull_policy}
    instance = render_dagster_yaml(policy, process_mode="stock")
    values: dict[str, Any] = json.loads(json.dumps(_chart_base()))  # a private, alias-free copy
    values["global"]["postgresqlSecretName"] = options.postgres_secret
    values["dagsterWebserver"].update(image=image, env=env, envSecrets=secrets)
    values["dagster-user-deployments"] = {
        "enabled": True,
        "enableSubchart": True,
        "imagePullSecrets": [],
        "deployments": _deployments(tenants, image, env, secrets),
    }
    values["postgresql"] = {
        "enabled": False,  # an existing server, reached through PgBouncer
        "image": {"repository": "library/postgres", "tag": "16", "pullPolicy": "IfNotPresent"},
        "postgresqlHost": options.pgbouncer_host,
        "postgresqlUsername": options.database_user,
        "postgresqlPassword": "",  # never a value: pods read it from the secret global.postgresqlSecretName
        "postgresqlDatabase": options.database,
        "postgresqlParams": {},
        "postgresqlScheme": "",
        "service": {"port": options.pgbouncer_port},
    }
    values["computeLogManager"] = {
        "type": "S3ComputeLogManager",
        "config": {"s3ComputeLogManager": _compute_logs(settings)},
    }
    launcher: dict[str, Any] = {
        "imagePullPolicy": options.pull_policy,
        "loadInclusterConfig": True,
        "envConfigMaps": [],
        "envSecrets": secrets,
        "envVars": [],
        "volumeMounts": [],
        "volumes": [],
        "labels": {"erp/component": "run"},
        "failPodOnRunFailure": True,
        "resources": options.tier_resources["free"].k8s(),  # runs the coordinator did not size get the least
    }
    if options.namespace:
        launcher["jobNamespace"] = options.namespace
    values["runLauncher"] = {"type": "K8sRunLauncher", "config": {"k8sRunLauncher": launcher}}
    coordinator = {
        **instance["run_coordinator"]["config"],
        "tier_run_k8s_config": {tier: run_k8s_config(r) for tier, r in sorted(options.tier_resources.items())},
    }
    monitoring = instance["run_monitoring"]
    values["dagsterDaemon"].update(
        image=image,
        env=env,
        envSecrets=secrets,
        runCoordinator={
            "enabled": True,
            "type": "CustomRunCoordinator",
            "config": {
                "customRunCoordinator": {
                    "module": COORDINATOR_MODULE, "class": COORDINATOR_CLASS, "config": coordinator,
                }
            },
        },
        runMonitoring={
            "enabled": True,
            "startTimeoutSeconds": 300,  # a run pod may wait for a node and pull the image
            "cancelTimeoutSeconds": monitoring["cancel_timeout_seconds"],
            "pollIntervalSeconds": 30,
            "maxResumeRunAttempts": monitoring["max_resume_run_attempts"],
            "freeSlotsAfterRunEndSeconds": monitoring["free_slots_after_run_end_seconds"],
        },
    )
    values["additionalInstanceConfig"] = {"concurrency": instance["concurrency"]}
    return values


def helm_values_text(values: dict[str, Any], tenants: list[TenantDeployment]) -> str:
    """The values as YAML with a header naming what rendered them."""
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]
    header = (
        "# Values for Dagster's Helm chart (dagster/dagster), rendered by `erp deploy render-k8s` from the tenant\n"
        f"# registry: {len(tenants)} tenant user-code deployments; digest {digest}. Do not edit by hand: render\n"
        "# again. Secrets are referenced by name only; create them before installing (see deploy/helm/README.md).\n"
    )
    plain = json.loads(json.dumps(values))  # no shared objects, so the YAML has no anchors or aliases
    return header + yaml.safe_dump(plain, sort_keys=False, width=120)


# -- parts -------------------------------------------------------------------------------------------------
def _chart_base() -> dict[str, Any]:
    text_ = resources.files("erp_platform.deploy").joinpath("chart_base.yaml").read_text()
    loaded: dict[str, Any] = yaml.safe_load(text_)
    return loaded


def _deployments(
    tenants: list[TenantDeployment], image: dict[str, str], env: dict[str, str], secrets: list[dict[str, str]]
) -> list[dict[str, Any]]:
    seen: dict[str, str] = {}
    deployments = []
    for tenant in tenants:
        name = tenant.name
        if name in seen:
            raise InvalidInputError(
                f"tenants {seen[name]!r} and {tenant.slug!r} would share the Kubernetes deployment name {name!r}; "
                "rename one of them (`erp tenant delete` and create it again under another slug)"
            )
        if len(name) > _DNS_LABEL_MAX:
            raise InvalidInputError(f"deployment name {name!r} of tenant {tenant.slug!r} exceeds 63 characters")
        seen[name] = tenant.slug
        deployments.append(
            {
                "name": name,
                "image": image,
                "codeServerArgs": [
                    "-m", CODE_LOCATIONS_MODULE, "-a", tenant.slug, "--location-name", f"tenant_{tenant.slug}",
                ],
                "port": CODE_SERVER_PORT,
                "includeConfigInLaunchedRuns": {"enabled": True},  # run pods get the same env and secrets
                "env": {**env, "ERP_DB_POOLED": "0"},  # idle code servers hold no database connections
                "envConfigMaps": [],
                "envSecrets": secrets,
                "labels": {"erp/tenant": tenant.slug, "erp/tier": tenant.tier},
                "annotations": {},
                "nodeSelector": {},
                "affinity": {},
                "tolerations": [],
                "podSecurityContext": {"runAsNonRoot": True},
                "securityContext": {"allowPrivilegeEscalation": False},
                "resources": CODE_SERVER_RESOURCES.k8s(),
                "readinessProbe": {"periodSeconds": 20, "timeoutSeconds": 10, "failureThreshold": 15},
                "startupProbe": {"enabled": False},
            }
        )
    return deployments


def _platform_env(settings: Settings) -> dict[str, str]:
    """Non-secret settings every platform pod needs (secrets come from the platform secret)."""
    store = settings.object_store_url
    if not store or urlsplit(store).scheme != "s3":
        raise ConfigurationError(
            "a Kubernetes deployment keeps objects in S3 (pods share no disk): set ERP_OBJECT_STORE_URL to "
            "s3://bucket/prefix (and ERP_S3_ENDPOINT_URL for an S3-compatible store), then render again"
        )
    if not settings.vault_addr:
        raise ConfigurationError(
            "a Kubernetes deployment keeps credentials in Vault: set ERP_VAULT_ADDR (the token goes into the "
            "platform secret as ERP_VAULT_TOKEN, never into the values), then render again"
        )
    env = {
        "ERP_OBJECT_STORE_URL": store,
        "ERP_S3_REGION": settings.s3_region,
        "ERP_VAULT_ADDR": settings.vault_addr,
        "ERP_VAULT_MOUNT": settings.vault_mount,
        "ERP_LOG_LEVEL": settings.log_level,
        "ERP_PROCESS_MODE": "stock",
    }
    if settings.s3_endpoint_url:
        env["ERP_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    return env


def _compute_logs(settings: Settings) -> dict[str, Any]:
    """Step logs next to the platform's objects: ``s3://bucket/<prefix>/dagster/compute-logs``."""
    parts = urlsplit(settings.object_store_url or "")
    prefix = "/".join(p for p in (parts.path.strip("/"), "dagster/compute-logs") if p)
    config: dict[str, Any] = {"bucket": parts.netloc, "prefix": prefix, "region": settings.s3_region}
    if settings.s3_endpoint_url:
        config["endpointUrl"] = settings.s3_endpoint_url
    return config
