"""Swagger 2.0 -> the OpenAPI 3 shape the OpenAPI builder reads (only what the builder uses)."""

from __future__ import annotations

from typing import Any

from sdk_builder._openapi_schema import as_dict, as_list

_REF_PREFIXES = (
    ("#/definitions/", "#/components/schemas/"),
    ("#/parameters/", "#/components/parameters/"),
    ("#/responses/", "#/components/responses/"),
)
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_SCHEMA_KEYS = ("type", "format", "items", "enum", "default", "minimum", "maximum", "pattern")


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = next(
                    (new + value[len(old) :] for old, new in _REF_PREFIXES if value.startswith(old)), value
                )
            elif key == "x-nullable":
                out["nullable"] = value
            else:
                out[str(key)] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def _servers(doc: dict[str, Any]) -> list[dict[str, str]]:
    host = doc.get("host")
    if not isinstance(host, str) or not host:
        base_path = doc.get("basePath")
        return [{"url": base_path}] if isinstance(base_path, str) and base_path else []
    schemes = [s for s in doc.get("schemes") or [] if s in ("https", "http")] or ["https"]
    base_path = str(doc.get("basePath") or "").rstrip("/")
    return [{"url": f"{scheme}://{host}{base_path}"} for scheme in schemes]


def _parameter(param: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in param or param.get("in") in ("body", "formData"):
        return param
    converted = {k: v for k, v in param.items() if k not in _SCHEMA_KEYS and k != "collectionFormat"}
    converted["schema"] = {k: param[k] for k in _SCHEMA_KEYS if k in param}
    fmt = param.get("collectionFormat")
    if param.get("type") == "array":
        converted["style"] = "form" if fmt in (None, "csv", "multi") else str(fmt)
        converted["explode"] = fmt == "multi"
    return converted


def _resolve(param: Any, shared: dict[str, Any]) -> Any:
    ref = param.get("$ref") if isinstance(param, dict) else None
    if isinstance(ref, str) and ref.startswith("#/components/parameters/"):
        return shared.get(ref.rsplit("/", 1)[-1], param)
    return param


def _operation(op: dict[str, Any], consumes: list[str], produces: list[str], shared: dict[str, Any]) -> None:
    params = [_resolve(p, shared) for p in as_list(op.get("parameters"))]
    body = next((p for p in params if isinstance(p, dict) and p.get("in") == "body"), None)
    form = [p for p in params if isinstance(p, dict) and p.get("in") == "formData"]
    op_consumes = op.get("consumes") or consumes or ["application/json"]
    if body is not None:
        op["requestBody"] = {
            "required": bool(body.get("required")),
            "description": body.get("description", ""),
            "content": {str(m): {"schema": body.get("schema", {})} for m in op_consumes},
        }
    if form:
        op["x-unsupported-body"] = "formData parameters (form or multipart bodies) are not supported"
        op["requestBody"] = {"content": {"application/x-www-form-urlencoded": {}}}
    op["parameters"] = [_parameter(p) for p in params if isinstance(p, dict) and p not in (body, *form)]
    op_produces = op.get("produces") or produces or ["application/json"]
    for response in as_dict(op.get("responses")).values():
        if isinstance(response, dict) and "schema" in response:
            schema = response.pop("schema")
            response["content"] = {str(m): {"schema": schema} for m in op_produces}


def swagger_to_openapi(doc: dict[str, Any]) -> dict[str, Any]:
    """Convert a Swagger 2.0 document to the OpenAPI 3 structure (refs, parameters, bodies, security)."""
    converted: dict[str, Any] = _rewrite_refs(doc)
    consumes = [str(m) for m in converted.get("consumes") or []]
    produces = [str(m) for m in converted.get("produces") or []]
    shared = as_dict(converted.get("parameters"))
    paths = converted.get("paths")
    if isinstance(paths, dict):
        for item in paths.values():
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("parameters"), list):
                item["parameters"] = [_parameter(p) if isinstance(p, dict) else p for p in item["parameters"]]
            for method, op in item.items():
                if method in _METHODS and isinstance(op, dict):
                    _operation(op, consumes, produces, shared)
    security = {}
    for name, scheme in (converted.get("securityDefinitions") or {}).items():
        if isinstance(scheme, dict) and scheme.get("type") == "basic":
            security[name] = {"type": "http", "scheme": "basic"}
        else:
            security[name] = scheme
    shared_parameters = converted.get("parameters") or {}
    parameters = {name: _parameter(p) if isinstance(p, dict) else p for name, p in shared_parameters.items()}
    converted["components"] = {
        "schemas": converted.get("definitions") or {},
        "parameters": parameters,
        "responses": converted.get("responses") or {},
        "securitySchemes": security,
    }
    converted["servers"] = _servers(doc)
    return converted
