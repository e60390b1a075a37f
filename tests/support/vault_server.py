"""A protocol test server for the HashiCorp Vault KV v2 HTTP API, as ``hvac`` speaks it. It is NOT Vault.

It is a small, real HTTP server (stdlib ``http.server`` on a free loopback port) that answers the
requests the platform's ``VaultStore`` makes, with Vault's status codes and JSON shapes:

- ``X-Vault-Token`` is checked; a missing or unknown token gets ``403 {"errors": ["permission denied"]}``.
- Tokens other than the root token carry ACL policies written in Vault's HCL subset
  ``path "<glob>" { capabilities = [...] }`` (exact paths, a trailing ``*`` and ``+`` segment globs; the
  most specific match wins; ``deny`` wins over everything), enforced like Vault before routing.
- ``GET/POST/PUT /v1/<mount>/data/<path>`` (versions, ``options.cas``, ``?version=N``),
  ``DELETE /v1/<mount>/data/<path>`` (soft delete of the latest version),
  ``GET``, ``LIST`` (or ``GET ?list=true``) and ``DELETE /v1/<mount>/metadata/<path>``.
- Unknown mounts: ``404 no handler for route``; missing secrets: ``404 {"errors": []}``;
  a sealed server (``server.sealed = True``): ``503 {"errors": ["Vault is sealed"]}``.

Use it only in tests::

    with VaultTestServer() as vault:
        client = hvac.Client(url=vault.url, token=vault.root_token)
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

_RULE_RE = re.compile(r'path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}', re.S)
_CAPABILITIES = {"create", "read", "update", "delete", "list", "patch", "sudo", "deny"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class _Rule:
    pattern: str
    capabilities: frozenset[str]

    def matches(self, path: str) -> bool:
        glob = self.pattern.endswith("*")
        body = self.pattern[:-1] if glob else self.pattern
        want = body.split("/")
        got = path.split("/")
        if glob:
            # the last pattern segment is a prefix of the path's segment at that position
            if len(got) < len(want):
                return False
            head_ok = all(w in ("+", g) for w, g in zip(want[:-1], got[: len(want) - 1], strict=True))
            return head_ok and (want[-1] == "+" or got[len(want) - 1].startswith(want[-1]))
        return len(got) == len(want) and all(w in ("+", g) for w, g in zip(want, got, strict=True))

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Vault prefers exact over glob, then fewer ``+`` wildcards, then the longer pattern."""
        return (0 if self.pattern.endswith("*") else 1, -self.pattern.count("+"), len(self.pattern))


def parse_policy(hcl: str) -> tuple[_Rule, ...]:
    """Parse the HCL subset ``path "<glob>" { capabilities = ["read", ...] }`` (comments allowed)."""
    text = "\n".join(line.split("#", 1)[0] for line in hcl.splitlines())
    rules = []
    for pattern, caps in _RULE_RE.findall(text):
        names = frozenset(c.strip().strip('"') for c in caps.split(",") if c.strip())
        unknown = names - _CAPABILITIES
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)} in policy for path {pattern!r}")
        rules.append(_Rule(pattern=pattern, capabilities=names))
    if not rules:
        raise ValueError("policy has no path rules")
    return tuple(rules)


@dataclass
class _Version:
    data: dict[str, Any] | None
    created_time: str
    deletion_time: str = ""
    destroyed: bool = False

    def metadata(self, number: int) -> dict[str, Any]:
        return {"created_time": self.created_time, "custom_metadata": None,
                "deletion_time": self.deletion_time, "destroyed": self.destroyed, "version": number}


@dataclass
class _Secret:
    created_time: str
    versions: list[_Version] = field(default_factory=list)

    @property
    def current(self) -> int:
        return len(self.versions)


class VaultTestServer:
    """The KV v2 protocol test server (see the module docstring); a context manager, ``stop`` idempotent."""

    def __init__(self, *, mounts: tuple[str, ...] = ("secret",), host: str = "127.0.0.1") -> None:
        self.root_token = "root-" + secrets.token_hex(8)
        self.sealed = False
        self._host = host
        self._mounts: dict[str, dict[str, _Secret]] = {m: {} for m in mounts}
        self._tokens: dict[str, tuple[_Rule, ...] | None] = {self.root_token: None}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for assertions

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> VaultTestServer:
        server = self

        class Handler(_Handler):
            vault = server

        self._httpd = ThreadingHTTPServer((self._host, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="vault-test-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> VaultTestServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("VaultTestServer is not running: call start() or use it in a with block")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test controls ------------------------------------------------------------------------------
    def create_token(self, policy_hcl: str) -> str:
        """A new token limited by ``policy_hcl`` (Vault's ``vault token create -policy=...``)."""
        rules = parse_policy(policy_hcl)
        token = "hvs." + secrets.token_urlsafe(18)
        with self._lock:
            self._tokens[token] = rules
        return token

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def stored(self, mount: str, path: str) -> dict[str, Any] | None:
        """The latest live data at ``<mount>/data/<path>`` (test inspection), or None."""
        with self._lock:
            secret = self._mounts[mount].get(path)
            if secret is None or not secret.versions:
                return None
            latest = secret.versions[-1]
            return None if latest.deletion_time or latest.destroyed else dict(latest.data or {})

    def paths(self, mount: str = "secret") -> list[str]:
        with self._lock:
            return sorted(self._mounts[mount])

    # -- request handling (called from handler threads) ---------------------------------------------
    def handle(self, method: str, raw_path: str, token: str | None,
               body: dict[str, Any] | None) -> tuple[int, dict[str, Any] | None]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        with self._lock:
            self.requests.append((method, parts.path))
            if parts.path == "/v1/sys/health":
                return (503 if self.sealed else 200), {"initialized": True, "sealed": self.sealed,
                                                       "standby": False, "version": "protocol-test-server"}
            if self.sealed:
                return 503, {"errors": ["Vault is sealed"]}
            if not parts.path.startswith("/v1/"):
                return 404, {"errors": []}
            if method == "GET" and query.get("list") == ["true"]:
                method = "LIST"
            path = parts.path[len("/v1/"):]
            if method == "LIST" and not path.endswith("/"):
                path += "/"  # Vault lists folders: the ACL sees the trailing slash
            if token is None or token not in self._tokens:
                return 403, {"errors": ["permission denied"]}
            mount, _, rest = path.partition("/")
            kind, _, key = rest.partition("/")
            store = self._mounts.get(mount)
            exists = store is not None and key.rstrip("/") in store
            capability = _capability(method, kind, exists)
            if capability is None:
                return 405, {"errors": [f"unsupported operation {method} on {path}"]}
            rules = self._tokens[token]
            if rules is not None and not _allowed(rules, path, capability):
                return 403, {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
            if store is None:
                return 404, {"errors": [f'no handler for route "{path}". route entry not found.']}
            if kind == "data":
                return self._data(method, store, key, query, body)
            if kind == "metadata":
                return self._metadata(method, store, key)
            return 404, {"errors": ["1 error occurred:\n\t* unsupported path\n\n"]}

    def _data(self, method: str, store: dict[str, _Secret], key: str, query: dict[str, list[str]],
              body: dict[str, Any] | None) -> tuple[int, dict[str, Any] | None]:
        secret = store.get(key)
        if method == "GET":
            if secret is None or not secret.versions:
                return 404, {"errors": []}
            number = int(query["version"][0]) if "version" in query else secret.current
            if not 1 <= number <= secret.current:
                return 404, {"errors": []}
            version = secret.versions[number - 1]
            if version.deletion_time or version.destroyed:
                return 404, _envelope({"data": None, "metadata": version.metadata(number)})
            return 200, _envelope({"data": version.data, "metadata": version.metadata(number)})
        if method in ("POST", "PUT"):
            if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
                return 400, {"errors": ["no data provided"]}
            cas = (body.get("options") or {}).get("cas")
            current = secret.current if secret else 0
            if cas is not None and int(cas) != current:
                return 400, {"errors": ["check-and-set parameter did not match the current version"]}
            if secret is None:
                secret = store[key] = _Secret(created_time=_now())
            secret.versions.append(_Version(data=dict(body["data"]), created_time=_now()))
            return 200, _envelope(secret.versions[-1].metadata(secret.current))
        if method == "DELETE":
            if secret is not None and secret.versions:
                secret.versions[-1].deletion_time = _now()
            return 204, None
        return 405, {"errors": [f"unsupported operation {method}"]}

    def _metadata(self, method: str, store: dict[str, _Secret],
                  key: str) -> tuple[int, dict[str, Any] | None]:
        if method == "LIST":
            folder = key if key.endswith("/") or key == "" else key + "/"
            folder = "" if folder == "/" else folder
            names = set()
            for path in store:
                if path.startswith(folder):
                    head, slash, _ = path[len(folder):].partition("/")
                    names.add(head + slash)
            if not names:
                return 404, {"errors": []}
            return 200, _envelope({"keys": sorted(names)})
        secret = store.get(key)
        if method == "GET":
            if secret is None:
                return 404, {"errors": []}
            versions = {str(i + 1): v.metadata(i + 1) for i, v in enumerate(secret.versions)}
            return 200, _envelope({
                "cas_required": False, "created_time": secret.created_time, "current_version": secret.current,
                "custom_metadata": None, "delete_version_after": "0s", "max_versions": 0,
                "oldest_version": 1 if secret.versions else 0,
                "updated_time": secret.versions[-1].created_time if secret.versions else secret.created_time,
                "versions": versions,
            })
        if method == "DELETE":
            store.pop(key, None)
            return 204, None
        return 405, {"errors": [f"unsupported operation {method}"]}


def _capability(method: str, kind: str, exists: bool) -> str | None:
    if method == "GET":
        return "read"
    if method in ("POST", "PUT"):
        return "update" if exists else "create"
    if method == "DELETE":
        return "delete"
    if method == "LIST" and kind == "metadata":
        return "list"
    return None


def _allowed(rules: tuple[_Rule, ...], path: str, capability: str) -> bool:
    matching = [r for r in rules if r.matches(path)]
    if not matching:
        return False
    best = max(matching, key=lambda r: r.specificity)
    return "deny" not in best.capabilities and capability in best.capabilities


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {"request_id": str(uuid.uuid4()), "lease_id": "", "renewable": False, "lease_duration": 0,
            "data": data, "wrap_info": None, "warnings": None, "auth": None, "mount_type": "kv"}


class _Handler(BaseHTTPRequestHandler):
    vault: VaultTestServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: don't wait for delayed ACKs

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._reply(400, {"errors": ["failed to parse JSON input"]})
            return
        status, payload = self.vault.handle(self.command, self.path, self.headers.get("X-Vault-Token"), body)
        self._reply(status, payload)

    def _reply(self, status: int, payload: dict[str, Any] | None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_LIST = _serve

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return
