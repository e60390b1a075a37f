"""The committed dagster.yaml, workspace.yaml and docker-compose.yml are valid and match the code."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from erp_platform.config import Settings
from erp_platform.orchestration import dagster_yaml_text, render_dagster_yaml
from erp_platform.orchestration._workspace import CodeServerAddress, render_workspace, workspace_target

ROOT = Path(__file__).resolve().parents[2]


def test_committed_dagster_yaml_is_the_default_rendering() -> None:
    assert (ROOT / "dagster.yaml").read_text() == dagster_yaml_text()


def test_dagster_yaml_validates_against_dagsters_instance_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    monkeypatch.setenv("ERP_DAGSTER_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/x")
    monkeypatch.setenv("ERP_FORKSERVER_SOCKET", "/tmp/x.sock")
    result = process_config(dagster_instance_config_schema(), render_dagster_yaml())
    assert result.success, result.errors
    limits = render_dagster_yaml()["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "erp/tier", "value": "free", "limit": 5} in limits
    assert {"key": "erp/tenant_free", "value": {"applyLimitPerUniqueValue": True}, "limit": 2} in limits


def test_stock_mode_renders_dagsters_default_run_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    monkeypatch.setenv("ERP_DAGSTER_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/x")
    stock = render_dagster_yaml(process_mode="stock")
    assert stock["run_launcher"] == {"module": "dagster._core.launcher", "class": "DefaultRunLauncher"}
    assert process_config(dagster_instance_config_schema(), stock).success
    forked = render_dagster_yaml()
    assert {k: v for k, v in stock.items() if k != "run_launcher"} == {
        k: v for k, v in forked.items() if k != "run_launcher"
    }  # same storage, coordinator, tier and tenant caps in both modes


def test_tcp_workspace_names_each_tenants_code_server_by_host_and_port(tmp_path: Path) -> None:
    servers = {"beta": CodeServerAddress("workers", 4002), "alpha": CodeServerAddress("workers", 4001)}
    text = render_workspace(["beta", "alpha"], mode="tcp", servers=servers)
    assert yaml.safe_load(text)["load_from"] == [
        {"grpc_server": {"host": "workers", "port": 4001, "location_name": "tenant_alpha"}},
        {"grpc_server": {"host": "workers", "port": 4002, "location_name": "tenant_beta"}},
    ]
    (tmp_path / "workspace.yaml").write_text(text)
    found = workspace_target(tmp_path / "workspace.yaml", "beta")
    assert found is not None and (found.host, found.port, found.socket) == ("workers", 4002, None)
    assert workspace_target(tmp_path / "workspace.yaml", "gamma") is None
    assert workspace_target(tmp_path / "missing.yaml", "beta") is None


def test_committed_workspace_yaml_is_a_generated_empty_workspace() -> None:
    assert (ROOT / "workspace.yaml").read_text() == render_workspace([], mode="module")


def test_workspace_entries_name_one_location_per_tenant(tmp_path: Path) -> None:
    module = yaml.safe_load(render_workspace(["beta", "alpha"], mode="module"))["load_from"]
    assert [e["python_module"]["location_name"] for e in module] == ["tenant_alpha", "tenant_beta"]
    assert {e["python_module"]["attribute"] for e in module} == {"alpha", "beta"}
    grpc = yaml.safe_load(render_workspace(["alpha"], mode="grpc", run_dir=tmp_path))["load_from"]
    assert grpc == [
        {"grpc_server": {"socket": str(tmp_path / "code-alpha.sock"), "location_name": "tenant_alpha"}}
    ]


def test_docker_compose_describes_the_deployment() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "minio", "vault", "init", "workers", "daemon", "webserver"} <= set(services)
    env = compose["x-erp-env"]
    settings_fields = {f"ERP_{name.upper()}" for name in Settings.model_fields}
    platform_env = {"ERP_DAGSTER_PG_URL"}
    for key in env:
        if key.startswith("ERP_"):
            assert key in settings_fields | platform_env, f"{key} is not a setting"
    for name in ("init", "workers", "daemon", "webserver"):
        assert services[name]["environment"] == env
        assert services[name]["command"][0] == "erp"  # the image has no ENTRYPOINT (Helm runs `dagster` in it)
    assert (ROOT / "Dockerfile").exists()
    instructions = [line.split()[0] for line in (ROOT / "Dockerfile").read_text().splitlines()
                    if line.strip() and not line.startswith(("#", " "))]
    assert "FROM" in instructions and "ENTRYPOINT" not in instructions


def test_docker_compose_can_place_workers_on_other_hosts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No shared volume or socket between workers, daemon and webserver: gRPC over TCP by service name."""
    from erp_platform.config import load_settings
    from erp_platform.orchestration._stock_servers import StockCodeServers
    from erp_platform.orchestration._workspace import TenantLocation

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services, env = compose["services"], compose["x-erp-env"]
    assert "ERP_FORKSERVER_SOCKET" not in env
    mounts = {name: {v.split(":")[0] for v in services[name].get("volumes", [])}
              for name in ("workers", "daemon", "webserver")}
    assert not (mounts["workers"] & (mounts["daemon"] | mounts["webserver"]))
    assert not (mounts["daemon"] & mounts["webserver"])
    assert services["workers"]["command"] == ["erp", "dev", "--no-webserver", "--no-daemon"]
    for name in ("daemon", "webserver"):
        assert "--no-workers" in services[name]["command"]
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    settings = load_settings()
    assert settings.process_mode == "stock"
    assert settings.code_server_advertised_host == env["ERP_CODE_SERVER_ADDRESS"] == "workers"
    assert settings.code_server_host == "0.0.0.0"  # listening beyond loopback, so other hosts reach it
    low, high = (int(p) for p in services["workers"]["expose"][0].split("-"))
    assert settings.code_server_port_base == low
    # the daemon and webserver render the workers' addresses from the registry alone: base + tenant id
    remote = StockCodeServers(settings, env={}, log_dir=tmp_path, launch=False)
    workspace = yaml.safe_load(remote.workspace({"acme": TenantLocation("acme", "f", tenant_id=7)}))
    assert workspace["load_from"] == [
        {"grpc_server": {"host": "workers", "port": low + 7, "location_name": "tenant_acme"}}
    ]
    assert low + 7 <= high
