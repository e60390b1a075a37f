"""Hostile specs that expand exponentially when read: the YAML alias bomb and the JSON ``$ref`` fan-out.

Used by the hostile tests and by ``benchmarks/spec_bombs.py`` (which measures what they cost now).
"""

from __future__ import annotations

import json
from typing import Any

SERVER = "https://erp.acme-corp.com/api/"


def alias_bomb(levels: int = 9, fan_out: int = 10) -> bytes:
    """"Billion laughs" in YAML: each anchor lists the previous one ``fan_out`` times (about 600 bytes).

    Read naively it expands to ``fan_out ** levels`` strings; the operation's description is the top one.
    """
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = [
        "openapi: 3.0.0",
        "info: {title: Laughs, version: '1'}",
        f"servers: [{{url: '{SERVER}'}}]",
        f"x-a: &a [{','.join(['lol'] * fan_out)}]",
    ]
    for level in range(1, levels):
        lines.append(f"x-{names[level]}: &{names[level]} [{','.join([f'*{names[level - 1]}'] * fan_out)}]")
    lines += [
        "paths:",
        "  /things:",
        "    get:",
        "      operationId: listThings",
        f"      description: *{names[levels - 1]}",
        "      responses: {'200': {description: ok}}",
    ]
    return ("\n".join(lines) + "\n").encode()


def ref_fanout(schemas: int = 30, fan_out: int = 10) -> bytes:
    """A JSON spec (about 15 KB) whose schema ``S<i>`` references ``S<i+1>`` ``fan_out`` times.

    A POST body of ``S0`` inlined to depth 6 holds ``fan_out ** 7`` values: the builder must refuse it
    before copying anything.
    """
    components: dict[str, Any] = {}
    for i in range(schemas):
        target = {"$ref": f"#/components/schemas/S{i + 1}"} if i + 1 < schemas else {"type": "string"}
        components[f"S{i}"] = {"type": "object", "properties": {f"p{j}": target for j in range(fan_out)}}
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}}
    listing = {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/S0"}}}}
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Fan-out", "version": "1"},
        "servers": [{"url": SERVER}],
        "paths": {
            "/things": {
                "get": {"operationId": "listThings", "responses": {"200": {"description": "ok", "content": listing}}},
                "post": {"operationId": "createThing", "requestBody": body,
                         "responses": {"201": {"description": "created"}}},
            }
        },
        "components": {"schemas": components},
    }
    return json.dumps(doc).encode()


def small_spec(**changes: Any) -> dict[str, Any]:
    """A valid one-operation OpenAPI document to break in one place (``changes`` replace top-level keys)."""
    item = {"type": "object", "properties": {"id": {"type": "integer"}}}
    ok = {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": item}}}}
    doc: dict[str, Any] = {
        "openapi": "3.0.0",
        "info": {"title": "Small", "version": "1"},
        "servers": [{"url": SERVER}],
        "paths": {"/things": {"get": {"operationId": "listThings", "responses": {"200": ok}}}},
    }
    doc.update(changes)
    return doc


def deep_json(depth: int = 100_000) -> bytes:
    """A spec whose extension value nests ``depth`` lists (json.loads alone overflows the stack)."""
    return (
        b'{"openapi": "3.0.0", "info": {"title": "Deep", "version": "1"}, "x-deep": '
        + b"[" * depth + b"]" * depth + b', "paths": {}}'
    )
