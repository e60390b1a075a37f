"""An OData service served from a real EDMX, for the specs Prism cannot serve (OData ``$metadata``).

Every entity set of the EDMX gets a few deterministic records built from its entity type (keys unique,
every property filled with a value of its EDM type, complex types nested), in the JSON wire form of the
service's OData version: V2 ``{"d": {"results": [...], "__count": "7", "__next": ...}}`` with
``/Date(ms)/`` dates, 64-bit integers and decimals as strings and ``__metadata`` on each entry; V4
``{"@odata.context": ..., "@odata.count": 7, "value": [...], "@odata.nextLink": ...}``. The server pages
(a few records per page, ``$skiptoken`` continuation), so paging is exercised across real pages.
Nothing here reads the platform's code: it is the ERP side of the test.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDS_PER_SET = 7
SERVER_PAGE = 3  # records per page the service returns at most


@dataclass(frozen=True)
class Property:
    name: str
    type: str
    max_length: int | None = None
    scale: int | None = None


@dataclass(frozen=True)
class EntitySet:
    name: str
    type_name: str
    keys: tuple[str, ...]
    properties: tuple[Property, ...]


@dataclass
class ODataService:
    """The entity sets and complex types of one EDMX, and the records each set holds."""

    version: int
    namespace: str
    sets: dict[str, EntitySet]
    complex_types: dict[str, tuple[Property, ...]]
    _records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_edmx(cls, path: Path) -> ODataService:
        root = ET.parse(path).getroot()
        version = 4 if root.get("Version", "").startswith("4") else 2
        schemas = [e for e in root.iter() if e.tag.endswith("}Schema")]
        declared: dict[str, tuple[str | None, tuple[str, ...], tuple[Property, ...]]] = {}
        complex_types: dict[str, tuple[Property, ...]] = {}
        namespace = schemas[0].get("Namespace", "") if schemas else ""
        for schema in schemas:
            ns = schema.get("Namespace", "")
            for node in schema:
                kind = node.tag.rsplit("}", 1)[-1]
                props = tuple(_property(p) for p in node if p.tag.endswith("}Property"))
                if kind == "EntityType":
                    keys = tuple(r.get("Name", "") for r in node.iter() if r.tag.endswith("}PropertyRef"))
                    declared[f"{ns}.{node.get('Name')}"] = (node.get("BaseType"), keys, props)
                elif kind == "ComplexType":
                    complex_types[f"{ns}.{node.get('Name')}"] = props
        types = {name: _inherited(declared, name) for name in declared}
        sets: dict[str, EntitySet] = {}
        for node in root.iter():
            if node.tag.endswith("}EntitySet"):
                type_name = node.get("EntityType", "")
                if type_name in types:
                    keys, props = types[type_name]
                    sets[node.get("Name", "")] = EntitySet(node.get("Name", ""), type_name, keys, props)
        return cls(version, namespace, sets, complex_types)

    def records(self, set_name: str) -> list[dict[str, Any]]:
        """The set's records in wire form (without V2 ``__metadata``), the same on every call."""
        if set_name not in self._records:
            entity = self.sets[set_name]
            self._records[set_name] = [
                {p.name: self._value(p, set_name, i, key=p.name in entity.keys) for p in entity.properties}
                for i in range(1, RECORDS_PER_SET + 1)
            ]
        return self._records[set_name]

    def _value(self, prop: Property, seed: str, i: int, *, key: bool = False, depth: int = 0) -> Any:
        edm = prop.type
        if edm in self.complex_types:
            if depth > 2:
                return None
            return {p.name: self._value(p, f"{seed}.{prop.name}", i, depth=depth + 1)
                    for p in self.complex_types[edm]}
        moment = datetime(2024, 1, 1, 9, 30, tzinfo=UTC) + timedelta(days=i, minutes=i)
        millis = int(moment.timestamp() * 1000)
        v2 = self.version == 2
        simple: dict[str, Any] = {
            "Edm.Guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{prop.name}/{i}")),
            "Edm.Boolean": i % 2 == 0,
            "Edm.Byte": i, "Edm.SByte": -i, "Edm.Int16": i * 10, "Edm.Int32": i * 1000,
            "Edm.Int64": str(i * 10**9) if v2 else i * 10**9,
            "Edm.Single": i + 0.5, "Edm.Double": i * 1.25, "Edm.Float": i + 0.25,
            "Edm.Time": f"PT{9 + i % 10:02d}H{i:02d}M00S",
            "Edm.DateTime": f"/Date({millis})/",
            "Edm.DateTimeOffset": f"/Date({millis}+0000)/" if v2 else moment.isoformat().replace("+00:00", "Z"),
            "Edm.Date": moment.date().isoformat(),
            "Edm.TimeOfDay": f"{9 + i % 10:02d}:{i:02d}:00",
            "Edm.Duration": f"PT{i}H",
            "Edm.Binary": base64.b64encode(f"bin-{i}".encode()).decode(),
        }
        if edm == "Edm.Decimal":
            scale = prop.scale or 0
            text = f"{i * 3}.{'5' * scale}" if scale else str(i * 3)
            return text if v2 else float(text)
        if edm in simple:
            return simple[edm]
        text = f"K{i}" if key else f"{prop.name[:3]}{i}"
        return text[: prop.max_length] if prop.max_length else text


def _inherited(declared: dict[str, tuple[str | None, tuple[str, ...], tuple[Property, ...]]],
               name: str) -> tuple[tuple[str, ...], tuple[Property, ...]]:
    """Keys and properties of an entity type with those of its base types (V4 ``BaseType``) first."""
    base, keys, props = declared[name]
    if base is None or base not in declared:
        return keys, props
    base_keys, base_props = _inherited(declared, base)
    return keys or base_keys, base_props + props


def _property(node: ET.Element) -> Property:
    length = node.get("MaxLength")
    scale = node.get("Scale")
    return Property(
        node.get("Name", ""), node.get("Type", ""),
        int(length) if length and length.isdigit() else None,
        int(scale) if scale and scale.isdigit() else None,
    )


class ODataServer:
    """Serves an :class:`ODataService` on a free loopback port under ``/odata/``; a context manager."""

    def __init__(self, edmx: Path) -> None:
        self.service = ODataService.from_edmx(edmx)
        self.edmx = edmx.read_bytes()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The service root, ending with ``/`` (the SDK's base URL)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/odata/"

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ODataServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def page(self, set_name: str, query: dict[str, str]) -> dict[str, Any]:
        """One page of a set, as the service answers ``GET /odata/<set>?<query>``."""
        records = self.service.records(set_name)
        start = int(query.get("$skiptoken") or query.get("$skip") or 0)
        top = int(query["$top"]) if "$top" in query else None
        end = len(records) if top is None else min(len(records), start + top)
        stop = min(end, start + SERVER_PAGE)
        rows = records[start:stop]
        more = stop < end
        following = None
        if more:
            rest = {k: v for k, v in query.items() if k not in ("$skiptoken", "$skip")}
            if top is not None:
                rest["$top"] = str(end - stop)
            rest["$skiptoken"] = str(stop)
            following = f"{self.url}{set_name}?" + "&".join(f"{k}={v}" for k, v in rest.items())
        if self.service.version == 2:
            entity = self.service.sets[set_name]
            body: dict[str, Any] = {"results": [
                {"__metadata": {"type": entity.type_name, "uri": f"{self.url}{set_name}({start + n})"}, **row}
                for n, row in enumerate(rows)
            ]}
            if query.get("$inlinecount") == "allpages":
                body["__count"] = str(len(records))
            if following:
                body["__next"] = following
            return {"d": body}
        out: dict[str, Any] = {"@odata.context": f"{self.url}$metadata#{set_name}"}
        if query.get("$count") == "true":
            out["@odata.count"] = len(records)
        out["value"] = rows
        if following:
            out["@odata.nextLink"] = following
        return out


def _handler(server: ODataServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            name = parts.path.removeprefix("/odata/").strip("/")
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if name == "$metadata":
                self._send(200, server.edmx, "application/xml")
            elif name in server.service.sets:
                self._send(200, json.dumps(server.page(name, query)).encode(), "application/json")
            else:
                self._send(404, json.dumps({"error": {"message": f"no entity set {name!r}"}}).encode(),
                           "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
