"""The mock ERP's OpenAPI 3.0 document: every data endpoint, typed entity schemas, security, paging."""

from __future__ import annotations

from typing import Any

from erp_platform.mock_erp._auth import API_KEY_HEADER, TENANT_HEADER
from erp_platform.mock_erp._entities import ENTITIES, SALES_ORDERS, EntitySpec, FieldSpec, Kind
from erp_platform.mock_erp._paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from erp_platform.mock_erp._rest import IDEMPOTENCY_HEADER, SalesOrderCreate

_REF = "#/components"

_ISO_TYPES: dict[Kind, dict[str, Any]] = {
    Kind.INTEGER: {"type": "integer", "format": "int64"},
    Kind.NUMBER: {"type": "number", "format": "double"},
    Kind.STRING: {"type": "string"},
    Kind.BOOLEAN: {"type": "boolean"},
    Kind.DATETIME: {"type": "string", "format": "date-time"},
    Kind.DATE: {"type": "string", "format": "date"},
}
_DOTNET_DATE: dict[str, Any] = {
    "type": "string",
    "pattern": r"^/Date\(-?[0-9]+\)/$",
    "example": "/Date(1704067200000)/",
}


def _field_schema(field: FieldSpec, *, dotnet: bool) -> dict[str, Any]:
    if dotnet and field.kind in (Kind.DATETIME, Kind.DATE):
        schema = dict(_DOTNET_DATE)
        what = "timestamp" if field.kind is Kind.DATETIME else "date (midnight UTC)"
        description = f"{field.description} OData V2 {what}: /Date(<milliseconds since 1970-01-01 UTC>)/."
    else:
        schema = dict(_ISO_TYPES[field.kind])
        description = field.description
    schema["description"] = description
    if field.nullable:
        schema["nullable"] = True
    return schema


def _entity_schema(spec: EntitySpec, *, dotnet: bool) -> dict[str, Any]:
    return {
        "type": "object",
        "description": spec.description,
        "required": [f.name for f in spec.fields],
        "properties": {f.name: _field_schema(f, dotnet=dotnet) for f in spec.fields},
    }


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"{_REF}/{kind}/{name}"}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for spec in ENTITIES.values():
        title = spec.title
        schemas[title] = _entity_schema(spec, dotnet=False)
        schemas[f"{title}V2"] = _entity_schema(spec, dotnet=True)
        schemas[f"{title}ODataV4Collection"] = {
            "type": "object",
            "required": ["@odata.context", "value"],
            "properties": {
                "@odata.context": {"type": "string"},
                "@odata.count": {"type": "integer", "format": "int64", "description": "with $count=true"},
                "value": {"type": "array", "items": _ref("schemas", title)},
                "@odata.nextLink": {
                    "type": "string",
                    "format": "uri",
                    "description": "absolute URL of the next page; absent on the last page",
                },
            },
        }
        schemas[f"{title}ODataV2Collection"] = {
            "type": "object",
            "required": ["d"],
            "properties": {
                "d": {
                    "type": "object",
                    "required": ["results"],
                    "properties": {
                        "__count": {"type": "string", "description": "with $inlinecount=allpages"},
                        "results": {"type": "array", "items": _ref("schemas", f"{title}V2")},
                        "__next": {
                            "type": "string",
                            "format": "uri",
                            "description": "absolute URL of the next page; absent on the last page",
                        },
                    },
                }
            },
        }
        schemas[f"{title}Page"] = {
            "type": "object",
            "required": ["page", "pageSize", "pageCount", "totalCount", "items"],
            "properties": {
                "page": {"type": "integer", "format": "int32", "description": "this page (1-based)"},
                "pageSize": {"type": "integer", "format": "int32"},
                "pageCount": {"type": "integer", "format": "int32", "description": "number of pages"},
                "totalCount": {"type": "integer", "format": "int64", "description": "matching records"},
                "items": {"type": "array", "items": _ref("schemas", title)},
            },
        }
    schemas["SalesOrderCreate"] = _sales_order_create()
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    }
    return schemas


def _sales_order_create() -> dict[str, Any]:
    fields = SalesOrderCreate.model_fields
    properties: dict[str, Any] = {
        "customer_id": {"type": "integer", "format": "int64", "minimum": 1},
        "total_amount": {"type": "number", "format": "double", "minimum": 0, "multipleOf": 0.01},
        "order_date": {"type": "string", "format": "date"},
        "requested_delivery_date": {"type": "string", "format": "date"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "external_reference": {"type": "string", "minLength": 1, "maxLength": 64, "nullable": True},
        "is_priority": {"type": "boolean", "default": False},
    }
    for name, schema in properties.items():
        description = fields[name].description
        if description:
            schema["description"] = description
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, f in fields.items() if f.is_required()],
        "properties": properties,
    }


def _parameters() -> dict[str, Any]:
    page_size_text = f"default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE}"
    return {
        "TenantHeader": {
            "name": TENANT_HEADER,
            "in": "header",
            "required": True,
            "description": "ERP tenant (company) code; must be the tenant of the credentials.",
            "schema": {"type": "string"},
        },
        "Company": {
            "name": "tenant",
            "in": "path",
            "required": True,
            "description": "ERP tenant (company) code, the same as the X-ERP-Tenant header.",
            "schema": {"type": "string"},
        },
        "Top": {
            "name": "$top",
            "in": "query",
            "description": f"Page size ({page_size_text}). While records remain, the page carries a next "
            "link with the same $top and the next $skip.",
            "schema": {"type": "integer", "minimum": 1},
        },
        "Skip": {
            "name": "$skip",
            "in": "query",
            "description": "Number of records to skip (in (updated_at, id) order).",
            "schema": {"type": "integer", "minimum": 0},
        },
        "FilterV4": {
            "name": "$filter",
            "in": "query",
            "description": "Incremental read: only 'updated_at gt <timestamp>' (or ge), "
            "e.g. updated_at gt 2024-01-01T00:00:00Z.",
            "schema": {"type": "string"},
        },
        "FilterV2": {
            "name": "$filter",
            "in": "query",
            "description": "Incremental read: only 'updated_at gt datetime'<timestamp>'' (or ge), "
            "e.g. updated_at gt datetime'2024-01-01T00:00:00'.",
            "schema": {"type": "string"},
        },
        "Count": {
            "name": "$count",
            "in": "query",
            "description": "true adds @odata.count (all matching records).",
            "schema": {"type": "boolean"},
        },
        "InlineCount": {
            "name": "$inlinecount",
            "in": "query",
            "description": "allpages adds d.__count (all matching records).",
            "schema": {"type": "string", "enum": ["allpages", "none"]},
        },
        "Format": {
            "name": "$format",
            "in": "query",
            "description": "Only json.",
            "schema": {"type": "string", "enum": ["json"]},
        },
        "Page": {
            "name": "page",
            "in": "query",
            "description": "Page number, 1-based.",
            "schema": {"type": "integer", "minimum": 1, "default": 1},
        },
        "PageSize": {
            "name": "pageSize",
            "in": "query",
            "description": f"Records per page ({page_size_text}).",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "default": DEFAULT_PAGE_SIZE,
            },
        },
        "UpdatedSince": {
            "name": "updated_since",
            "in": "query",
            "description": "Incremental read: only records with updated_at after this ISO 8601 timestamp.",
            "schema": {"type": "string", "format": "date-time"},
        },
        "RecordId": {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "Record id.",
            "schema": {"type": "integer", "format": "int64", "minimum": 1},
        },
        "IdempotencyKey": {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": False,
            "description": "Repeating a request with the same key (and body) returns the first answer "
            "without creating a second record.",
            "schema": {"type": "string", "maxLength": 255},
        },
    }


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": _json_content(_ref("schemas", "Error")),
    }
    if headers:
        response["headers"] = headers
    return response


def _responses() -> dict[str, Any]:
    return {
        "BadRequest": _error("Invalid parameter or missing X-ERP-Tenant header."),
        "Unauthorized": _error(
            "Missing or invalid credentials.",
            {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer challenge"}},
        ),
        "Forbidden": _error("X-ERP-Tenant (or the company in the URL) is not the tenant of the credentials."),
        "NotFound": _error("No such record."),
        "TooManyRequests": _error(
            "Rate limited; retry after Retry-After seconds.",
            {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
        ),
        "ServerError": _error("Internal server error."),
        "Unavailable": _error("Service unavailable; retry later."),
    }


def _common_errors(*extra: tuple[str, str]) -> dict[str, Any]:
    responses = {
        "400": _ref("responses", "BadRequest"),
        "401": _ref("responses", "Unauthorized"),
        "403": _ref("responses", "Forbidden"),
        "429": _ref("responses", "TooManyRequests"),
        "500": _ref("responses", "ServerError"),
        "503": _ref("responses", "Unavailable"),
    }
    for status, name in extra:
        responses[status] = _ref("responses", name)
    return responses


def _params(*names: str) -> list[dict[str, str]]:
    return [_ref("parameters", n) for n in names]


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for spec in ENTITIES.values():
        title, plural = spec.title, _camel(spec.name)
        paths[f"/odata/v4/companies({{tenant}})/{spec.v4_set}"] = {
            "get": {
                "operationId": f"odataV4List{plural}",
                "tags": ["OData V4"],
                "summary": f"List {spec.name} (OData V4)",
                "parameters": _params(
                    "Company", "TenantHeader", "Top", "Skip", "FilterV4", "Count", "Format"
                ),
                "responses": {
                    "200": {
                        "description": "One page; follow @odata.nextLink for the next.",
                        "content": _json_content(_ref("schemas", f"{title}ODataV4Collection")),
                    },
                    **_common_errors(),
                },
            }
        }
        paths[f"/odata/v2/{spec.v2_set}"] = {
            "get": {
                "operationId": f"odataV2List{plural}",
                "tags": ["OData V2"],
                "summary": f"List {spec.name} (OData V2)",
                "parameters": _params("TenantHeader", "Top", "Skip", "FilterV2", "InlineCount", "Format"),
                "responses": {
                    "200": {
                        "description": "One page; follow d.__next for the next.",
                        "content": _json_content(_ref("schemas", f"{title}ODataV2Collection")),
                    },
                    **_common_errors(),
                },
            }
        }
        collection: dict[str, Any] = {
            "get": {
                "operationId": f"list{plural}",
                "tags": ["REST"],
                "summary": f"List {spec.name}, ordered by (updated_at, id)",
                "parameters": _params("TenantHeader", "Page", "PageSize", "UpdatedSince"),
                "responses": {
                    "200": {
                        "description": "One page.",
                        "content": _json_content(_ref("schemas", f"{title}Page")),
                    },
                    **_common_errors(),
                },
            }
        }
        if spec is SALES_ORDERS:
            collection["post"] = {
                "operationId": "createSalesOrder",
                "tags": ["REST"],
                "summary": "Create a sales order (idempotent with Idempotency-Key)",
                "parameters": _params("TenantHeader", "IdempotencyKey"),
                "requestBody": {
                    "required": True,
                    "content": _json_content(_ref("schemas", "SalesOrderCreate")),
                },
                "responses": {
                    "201": {
                        "description": "Created (or replayed for a repeated Idempotency-Key).",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "content": _json_content(_ref("schemas", title)),
                    },
                    "422": _error("Invalid order, or an Idempotency-Key reused with another body."),
                    **_common_errors(),
                },
            }
        paths[f"/api/v1/{spec.rest_path}"] = collection
        paths[f"/api/v1/{spec.rest_path}/{{id}}"] = {
            "get": {
                "operationId": f"get{title}",
                "tags": ["REST"],
                "summary": f"Get one {spec.title} by id",
                "parameters": _params("TenantHeader", "RecordId"),
                "responses": {
                    "200": {"description": "The record.", "content": _json_content(_ref("schemas", title))},
                    **_common_errors(("404", "NotFound")),
                },
            }
        }
    return paths


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def build_openapi(base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of a server reachable at ``base_url``."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Mock ERP",
            "version": "1.0.0",
            "description": "A deterministic ERP with three API styles over the same data: OData V4 "
            "(/odata/v4), OData V2 with /Date(ms)/ dates (/odata/v2) and page-style REST (/api/v1). "
            "Every request needs credentials (bearer token or X-API-Key) and the X-ERP-Tenant header. "
            "Records are ordered by (updated_at, id); updated_at is an incremental cursor.",
        },
        "servers": [{"url": base_url}],
        "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
        "tags": [
            {"name": "OData V4", "description": "OData V4 collections with @odata.nextLink paging."},
            {"name": "OData V2", "description": "OData V2 collections (d.results, __next, /Date(ms)/)."},
            {"name": "REST", "description": "Page-style REST (page, pageSize, pageCount, totalCount)."},
        ],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer <token>",
                },
                "apiKeyAuth": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
            },
            "parameters": _parameters(),
            "responses": _responses(),
            "schemas": _schemas(),
        },
    }
