"""``erp deploy render-k8s``: values for Dagster's Helm chart from the tenant registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from erp_platform.cli._app import app
from erp_platform.cli._output import console, platform, print_json

deploy_app = typer.Typer(help="Deployments beyond one machine (Kubernetes).", no_args_is_help=True)
app.add_typer(deploy_app, name="deploy")


@deploy_app.command("render-k8s")
def render_k8s(
    out: Path = typer.Option(Path("deploy/helm/values.yaml"), "--out", help="values file to write"),
    image: str = typer.Option(
        "erp-platform", "--image", help="platform image REPOSITORY[:TAG] (tag default: the platform version)"
    ),
    pull_policy: str = typer.Option("IfNotPresent", "--pull-policy", help="Always, IfNotPresent or Never"),
    namespace: str | None = typer.Option(None, "--namespace", help="namespace of run jobs (default: release's)"),
    platform_secret: str = typer.Option(
        "erp-platform-env", "--platform-secret",
        help="existing Secret with ERP_DATABASE_URL, ERP_VAULT_TOKEN (and AWS keys unless IRSA is used)",
    ),
    postgres_secret: str = typer.Option(
        "erp-postgresql", "--postgres-secret", help="existing Secret with key postgresql-password"
    ),
    pgbouncer_host: str = typer.Option("erp-pgbouncer", "--pgbouncer-host", help="PgBouncer service name"),
    pgbouncer_port: int = typer.Option(6432, "--pgbouncer-port"),
    database: str = typer.Option("erp", "--database", help="database name (platform and Dagster storage)"),
    database_user: str = typer.Option("erp", "--database-user"),
    tier_resources: Path | None = typer.Option(
        None, "--tier-resources",
        help="YAML file: tier -> {requests: {cpu, memory}, limits: {cpu, memory}} for run pods",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Render values for Dagster's official Helm chart: one user-code deployment per tenant, K8sRunLauncher with
    per-tier run resources, our run coordinator and tag limits, Postgres through PgBouncer, S3 and Vault.

    Secrets are referenced by name only. Needs ERP_OBJECT_STORE_URL=s3://... and ERP_VAULT_ADDR.
    """
    from erp_platform._errors import InvalidInputError
    from erp_platform._files import write_text_if_changed
    from erp_platform.deploy import helm_options, helm_values_text, registry_tenants, render_helm_values
    from erp_platform.queue import queue_policy

    repository, tag = _split_image(image)
    values: dict[str, Any] = {
        "image": repository, "pull_policy": pull_policy, "namespace": namespace,
        "platform_secret": platform_secret, "postgres_secret": postgres_secret, "pgbouncer_host": pgbouncer_host,
        "pgbouncer_port": pgbouncer_port, "database": database, "database_user": database_user,
    }
    if tag is not None:
        values["image_tag"] = tag
    if tier_resources is not None:
        import yaml

        try:
            values["tier_resources"] = yaml.safe_load(tier_resources.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInputError(f"--tier-resources {tier_resources}: cannot read it as YAML ({exc})") from None
    options = helm_options(**values)
    with platform() as plat:
        tenants = registry_tenants(plat.engine)
        rendered = render_helm_values(plat.settings, tenants, queue_policy(plat.engine), options)
    out.parent.mkdir(parents=True, exist_ok=True)
    changed = write_text_if_changed(out, helm_values_text(rendered, tenants))
    deployments = [d["name"] for d in rendered["dagster-user-deployments"]["deployments"]]
    if as_json:
        print_json({"path": str(out), "deployments": deployments, "changed": changed})
    else:
        console.print(f"wrote {out} ({len(deployments)} tenant user-code deployments)")


def _split_image(image: str) -> tuple[str, str | None]:
    """``registry:5000/erp:1.2`` -> (``registry:5000/erp``, ``1.2``); no tag -> (image, None)."""
    head, sep, tail = image.rpartition(":")
    if sep and "/" not in tail:
        return head, tail
    return image, None
