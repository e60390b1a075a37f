"""Extraction throughput: records/s of 1,000-record JSON pages, sandbox vs native, both parse modes.

The same guest source (OData V2 style: ``d.results``, ``__next``, ``/Date(ms)/`` dates, ~180-byte records)
runs in the WebAssembly sandbox and natively in this CPython, in the same run, with the same host services:

- host-parse (production path): the guest builds the request and calls ``host.fetch_json_records``; the
  host parses the body with orjson, keeps the records and applies FieldKind normalisation.
- guest-parse: the guest calls ``host.send``, parses the body with ``json``, normalises every record and
  returns them as JSON, which the host validates.

Pages come from an in-memory httpx transport by default (so the figures are the sandbox and parsing cost,
not the network); ``--http`` serves the same pages from a local HTTP server in a subprocess instead.

    .venv/bin/python benchmarks/sandbox_parsing.py [--pages 60] [--http] [--cache-dir .erp/cache/wasm]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from erp_platform.sandbox import (  # noqa: E402
    EgressPolicy,
    HostServices,
    NativeComponent,
    SandboxLimits,
    SandboxRuntime,
    SdkManifest,
    SdkSession,
    compile_component,
)

PAGE_SIZE = 1000

GUEST = '''import json
from datetime import datetime, timedelta, timezone

import wit_world
from componentize_py_types import Err
from wit_world.imports import host

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
FIELDS = {
    "ItemId": "integer",
    "Number": "string",
    "Name": "string",
    "Uom": "string",
    "Price": "decimal",
    "Qty": "number",
    "Blocked": "boolean",
    "Modified": "datetime",
    "Created": "date",
}


def _ms(value):
    inner = value[6:-2]
    cut = max(inner.rfind("+"), inner.rfind("-"))
    return int(inner[:cut] if cut > 0 else inner)


def _normalise(record):
    record["ItemId"] = int(record["ItemId"])
    record["Qty"] = float(record["Qty"])
    modified = record.get("Modified")
    if modified:
        record["Modified"] = (EPOCH + timedelta(milliseconds=_ms(modified))).isoformat()
    created = record.get("Created")
    if created:
        record["Created"] = (EPOCH + timedelta(milliseconds=_ms(created))).date().isoformat()
    return record


def _request(params):
    url = params.get("_next") or "/odata/v2/Items?$top=" + str(params.get("_page_size", 1000)) + "&$skip=0"
    return host.HttpRequest("GET", url, [("Accept", "application/json")], None)


def list_items(params):
    if params.get("_mode") == "guest":
        response = host.send(_request(params))
        body = json.loads(response.body)["d"]
        return {"status": response.status, "records": [_normalise(r) for r in body["results"]],
                "next": body.get("__next"), "entity": "item"}
    page = host.fetch_json_records(_request(params), ["d", "results"], ["d.__next"])
    meta = json.loads(page.meta_json)
    return {"status": page.status, "host_page": page.page_id, "fields": FIELDS,
            "next": meta["d.__next"], "entity": "item"}


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return json.dumps({"name": "items", "version": 1, "operations": ["list_items"]})

    def execute(self, operation, params_json):
        try:
            return json.dumps(list_items(json.loads(params_json)))
        except Err as error:
            raise Err(json.dumps({"kind": "host_error", "message": str(error.value)}))
        except Exception as exc:
            raise Err(json.dumps({"kind": "guest_bug", "message": repr(exc)}))
'''

SOURCES = {"items_guest.py": GUEST}
UNITS = ["PCS", "KG", "BOX", "M", "L"]
WORDS = ["Steel bolt", "Hex nut", "Washer", "Cable tie", "Hinge", "Bracket", "Gasket", "Spring"]


def records(count: int, first: int = 0) -> bytes:
    """``count`` realistic item records (~185 bytes each, two ``/Date(ms)/`` dates) as a JSON array; pages start
    at ``first`` (every page holds other records: the host ends paging on a page that repeats the previous)."""
    base = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    rows = [
        {
            "ItemId": 100000 + i,
            "Number": f"I{100000 + i:07d}",
            "Name": f"{WORDS[i % len(WORDS)]} M{4 + i % 12}x{10 + i % 90}",
            "Uom": UNITS[i % len(UNITS)],
            "Price": f"{(i * 37) % 10000 / 100:.2f}",
            "Qty": (i * 13) % 500,
            "Blocked": i % 17 == 0,
            "Modified": f"/Date({base + i * 61_000})/",
            "Created": f"/Date({base - (i % 700) * 86_400_000}+0000)/",
        }
        for i in range(first, first + count)
    ]
    return orjson.dumps(rows)


def page_body(rows: bytes, page: int, pages: int, origin: str) -> bytes:
    following = (
        b'"' + f"{origin}/odata/v2/Items?$top={PAGE_SIZE}&$skip={(page + 1) * PAGE_SIZE}".encode() + b'"'
        if page + 1 < pages
        else b"null"
    )
    return b'{"d":{"results":' + rows + b',"__next":' + following + b"}}"


SERVER = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    all_rows = sys.stdin.buffer.read().split(b"\n")  # one JSON array of records per page
    pages = int(sys.argv[1])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            skip = int(parse_qs(urlsplit(self.path).query).get("$skip", ["0"])[0])
            page = skip // 1000
            nxt = ('"http://' + self.headers["Host"] + "/odata/v2/Items?$top=1000&$skip=" + str(skip + 1000)
                   + '"') if page + 1 < pages else "null"
            body = b'{"d":{"results":' + all_rows[page] + b',"__next":' + nxt.encode() + b"}}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


def memory_transport(pages_rows: list[bytes], origin: str) -> httpx.MockTransport:
    pages = len(pages_rows)
    bodies = [page_body(rows, page, pages, origin) for page, rows in enumerate(pages_rows)]

    def handler(request: httpx.Request) -> httpx.Response:
        skip = int(request.url.params.get("$skip", "0"))
        body = bodies[skip // PAGE_SIZE]
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handler)


def run(session: SdkSession, mode: str) -> tuple[int, float]:
    """Read every page once; return (records, seconds)."""
    started = time.perf_counter()
    total = 0
    for page in session.iter_pages("list_items", {"_page_size": PAGE_SIZE, "_mode": mode}):
        total += len(page.records)
    return total, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5, help="best of N interleaved rounds")
    parser.add_argument("--http", action="store_true", help="serve pages from a local HTTP server")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".erp" / "cache" / "wasm")
    args = parser.parse_args()

    pages_rows = [records(PAGE_SIZE, page * PAGE_SIZE) for page in range(args.pages)]
    rows = pages_rows[0]
    print(f"page: {PAGE_SIZE} records, {len(rows) / 1e3:.0f} KB, {len(rows) / PAGE_SIZE:.0f} bytes/record; "
          f"{args.pages} pages per run, best of {args.rounds}")
    server: subprocess.Popen[bytes] | None = None
    if args.http:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(args.pages)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(b"\n".join(pages_rows))
        server.stdin.close()
        port = int(server.stdout.readline())
        origin = f"http://127.0.0.1:{port}"
        services = HostServices(egress_policy=EgressPolicy(private_allowlist=(f"127.0.0.1:{port}",)))
        allowed = ("127.0.0.1",)
    else:
        origin = "https://erp.example.com"
        services = HostServices(transport=memory_transport(pages_rows, origin))
        allowed = ("erp.example.com",)
    manifest = SdkManifest(
        tenant="bench",
        sdk_name="items",
        sdk_version=1,
        base_url=origin,
        allowed_domains=allowed,
        limits=SandboxLimits(max_requests_per_call=5),
    )
    try:
        wasm = compile_component(SOURCES, entry="items_guest", cache_dir=args.cache_dir)
        with SandboxRuntime(cache_dir=args.cache_dir) as runtime:
            component = runtime.load_component(wasm)
            native = NativeComponent(SOURCES, entry="items_guest")
            results: dict[tuple[str, str], float] = {}
            with SdkSession(manifest, component, services) as sandboxed, SdkSession(
                manifest, native, services
            ) as natively:
                for mode in ("host", "guest"):
                    runners = (("sandbox", sandboxed), ("native", natively))
                    best = {runner: float("inf") for runner, _ in runners}
                    for session in (sandboxed, natively):
                        run(session, mode)  # warm-up
                    for _ in range(args.rounds):  # interleaved, so machine load hits both alike
                        for runner, session in runners:
                            best[runner] = min(best[runner], run(session, mode)[1])
                    for runner, seconds in best.items():
                        results[(mode, runner)] = args.pages * PAGE_SIZE / seconds
    finally:
        if server is not None:
            server.terminate()
            server.wait()

    transport = "local HTTP server (subprocess)" if args.http else "in-memory transport"
    print(f"\nrecords/s, {transport}")
    print(f"{'mode':<12}{'sandbox':>12}{'native':>12}{'sandbox/native':>16}")
    for mode, label in (("host", "host-parse"), ("guest", "guest-parse")):
        wasm_rate, native_rate = results[(mode, "sandbox")], results[(mode, "native")]
        print(f"{label:<12}{wasm_rate:>12,.0f}{native_rate:>12,.0f}{wasm_rate / native_rate:>15.2f}x")
    ratio = results[("host", "sandbox")] / results[("host", "native")]
    print(f"\nproduction path (host-parse) sandbox/native = {ratio:.2f}x "
          f"({'meets' if ratio >= 0.5 else 'MISSES'} the 0.5x target)")


if __name__ == "__main__":
    main()
