"""The web chat page served as `erp dev` serves it: a real headless Chromium asks for a draft, sees the diff,
asset graph and dry-run rows, clicks Activate; tenant tokens keep each tenant on its own page and API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from assistant import Assistant, WebServer, create_web_app, web_key, web_token
from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory
from tests.assistant.browser import chromium_page
from tests.assistant.conftest import Ready

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


@pytest.fixture
def web(make_assistant: Callable[..., Assistant], tmp_path: Path) -> Iterator[tuple[WebServer, bytes]]:
    key = web_key(tmp_path)
    with WebServer(create_web_app(make_assistant(), key), port=0) as server:
        yield server, key


def test_key_file_is_private_and_stable(tmp_path: Path) -> None:
    key = web_key(tmp_path)
    assert web_key(tmp_path) == key and len(key) == 32
    assert (tmp_path / "assistant-web.key").stat().st_mode & 0o777 == 0o600


def test_api_refuses_other_tenants_tokens(web: tuple[WebServer, bytes], tenant_a: Ready, tenant_b: Ready) -> None:
    server, key = web
    token_a = web_token(key, tenant_a.tenant)
    base = server.url
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        assert client.get(f"/assistant/{tenant_a.tenant}/api/conversations",
                          headers={"x-erp-token": token_a}).status_code == 200
        refused = client.get(f"/assistant/{tenant_b.tenant}/api/conversations", headers={"x-erp-token": token_a})
        assert refused.status_code == 403
        assert refused.json() == {"error": f"no access to tenant {tenant_b.tenant!r}: open the link "
                                           f"`erp assistant link {tenant_b.tenant}` prints"}
        assert client.get(f"/assistant/{tenant_b.tenant}?token={token_a}").status_code == 403
        assert client.get(f"/assistant/{tenant_b.tenant}").status_code == 403
        opened = client.get(f"/assistant/{tenant_a.tenant}?token={token_a}")
        assert opened.status_code == 303 and opened.headers["location"] == f"/assistant/{tenant_a.tenant}"
        missing = client.get(f"/assistant/{tenant_a.tenant}/api/conversations/00000000-0000-0000-0000-000000000000",
                             headers={"x-erp-token": token_a})
        assert missing.status_code == 404


def test_chat_page_in_headless_chromium(web: tuple[WebServer, bytes], tenant_a: Ready, tenant_b: Ready,
                                        engine: Engine) -> None:
    server, key = web
    tenant = tenant_a.tenant
    with chromium_page() as page:
        page.navigate(f"{server.url}/assistant/{tenant}?token={web_token(key, tenant)}")
        assert page.evaluate("document.title") == f"Assistant · {tenant}"
        page.evaluate("document.getElementById('text').value = 'sync customers into web_customers every hour'")
        page.evaluate("document.getElementById('ask').requestSubmit()")
        page.wait_for("document.getElementById('activate') !== null", timeout=120)
        status = page.evaluate("document.getElementById('draft-status').textContent")
        assert status.startswith("Draft stored: workflow web_customers_sync v1 (DRAFT, not active")
        graph = page.evaluate("document.getElementById('graph').innerText")
        assert "customers" in graph and "load_web_customers" in graph
        assert page.evaluate("document.querySelectorAll('table.rows tr').length") == 11  # header + 10 rows
        assert "+- id: customers" in page.evaluate("document.querySelector('pre.diff').textContent")
        assert "0 * * * *" in page.evaluate("document.getElementById('draft').innerText")
        shot = page.screenshot(ARTIFACTS / "assistant_chat.png")
        assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 40_000
        registry = WorkflowRegistry(engine, registry_catalog_factory(engine))
        assert [r.status for r in registry.list(tenant, "web_customers_sync")] == ["DRAFT"]
        page.evaluate("document.getElementById('activate').click()")
        page.wait_for("document.getElementById('draft-status').textContent.startsWith('Activated')")
        assert page.evaluate("document.getElementById('draft-status').textContent") == (
            "Activated: web_customers_sync v1 is ACTIVE.")
        assert [r.status for r in registry.list(tenant, "web_customers_sync")] == ["ACTIVE"]
        page.screenshot(ARTIFACTS / "assistant_chat_activated.png")
        # the page's own cookie does not open another tenant's API
        status_b = page.evaluate(f"fetch('/assistant/{tenant_b.tenant}/api/conversations').then(r => r.status)")
        assert status_b == 403
        page.navigate(f"{server.url}/assistant/{tenant_b.tenant}")
        assert "403" in page.evaluate("document.body.innerText")


def test_erp_dev_serves_the_page_and_survives_a_taken_port(pg_url: str, erp_home: Path, tenant_a: Ready,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from erp_platform._platform import Platform
    from erp_platform.cli._assistant import assistant_web
    from erp_platform.config import load_settings

    monkeypatch.setenv("ERP_ASSISTANT_WEB_PORT", "0")
    with Platform(load_settings(home=erp_home, database_url=pg_url)) as plat:
        with assistant_web(plat) as server:
            assert server is not None
            token = web_token(web_key(plat.settings.resolved_home), tenant_a.tenant)
            page = httpx.get(f"{server.url}/assistant/{tenant_a.tenant}",
                             cookies={f"erp_assistant_{tenant_a.tenant}": token})
            assert page.status_code == 200 and f"tenant {tenant_a.tenant}" in page.text
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            monkeypatch.setenv("ERP_ASSISTANT_WEB_PORT", str(taken.getsockname()[1]))
            with assistant_web(plat) as refused:
                assert refused is None
