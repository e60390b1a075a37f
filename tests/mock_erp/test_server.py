"""MockErpServer: lifecycle of the in-thread server."""

from __future__ import annotations

import socket

import httpx
import pytest

from erp_platform.mock_erp import MockErpConfig, MockErpServer, MockErpStartError


def test_context_manager_starts_and_stops() -> None:
    server = MockErpServer(MockErpConfig(rows=10))
    assert server.port == 0
    with server as running:
        assert running is server
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{server.base_url}/_admin/health").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/_admin/health")
    server.stop()  # idempotent


def test_fixed_port_in_use() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(MockErpStartError, match=rf"^mock ERP cannot listen on 127\.0\.0\.1:{port}: "):
            MockErpServer(port=port).start()


def test_servers_are_independent() -> None:
    with MockErpServer(MockErpConfig(rows=10)) as one, MockErpServer(MockErpConfig(rows=20)) as two:
        one.simulate("acme", "customers", append=1)
        headers = {"Authorization": "Bearer tok-acme", "X-ERP-Tenant": "acme"}
        assert httpx.get(f"{one.base_url}/api/v1/customers", headers=headers).json()["totalCount"] == 11
        assert httpx.get(f"{two.base_url}/api/v1/customers", headers=headers).json()["totalCount"] == 20
