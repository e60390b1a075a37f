"""A hand-written connector guest for the sandbox tests' ERP server (stdlib only, never raises).

Operations:
- ``list_customers``: OData V4 ``/odata/v4/customers`` paged by ``@odata.nextLink``; host-parsed by
  default, guest-parsed with ``_mode="guest"``.
- ``list_customers_v2``: OData V2 ``/odata/v2/Customers`` (``d.results``, ``__next``, ``/Date(ms)/``).
- ``get_customer``: one record by ``id`` through ``host.send`` (a ``result``).
- ``fetch_path`` / ``send_path``: generic calls used by the fault tests.
- ``echo``: returns its parameters (overhead benchmark).
"""

import json
from datetime import UTC, datetime, timedelta

import wit_world
from componentize_py_types import Err
from wit_world.imports import host

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

CUSTOMER_FIELDS = {
    "id": "integer",
    "number": "string",
    "name": "string",
    "email": "string",
    "city": "string",
    "country": "string",
    "balance": "decimal",
    "credit_limit": "number",
    "blocked": "boolean",
    "created_on": "date",
    "updated_at": "datetime",
}

OPERATIONS = {
    "list_customers": {"params": ["_page_size", "_next", "_mode"], "entity": "customer"},
    "list_customers_v2": {"params": ["_page_size", "_next", "_mode"], "entity": "customer"},
    "get_customer": {"params": ["id"], "entity": "customer"},
    "fetch_path": {"params": ["path", "record_path", "meta_paths"]},
    "send_path": {"params": ["path", "method", "headers", "body"]},
    "echo": {"params": []},
}


class GuestFailure(Exception):
    def __init__(self, kind, message, status=None, retryable=False):
        super().__init__(message)
        self.payload = {"kind": kind, "message": message, "status": status, "retryable": retryable}


def _request(url, method="GET", headers=None, body=None):
    return host.HttpRequest(method, url, list(headers or []), body)


def _host_error(error):
    text = str(error.value)
    kind = text.split(":", 1)[0]
    if kind == "HttpError":
        status = int(text.split()[1])
        raise GuestFailure("http_error", text, status, status >= 500 or status == 429)
    raise GuestFailure("host_error", text, None, kind in ("RateLimited", "UpstreamError"))


def _dotnet(value):
    inner = value[6:-2]
    for sign in ("+", "-"):
        cut = inner.rfind(sign)
        if cut > 0:
            inner = inner[:cut]
    return EPOCH + timedelta(milliseconds=int(inner))


def _datetime(value):
    if value.startswith("/Date("):
        return _dotnet(value).isoformat()
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _date(value):
    if value.startswith("/Date("):
        return _dotnet(value).date().isoformat()
    return value[:10]


def _normalise(record):
    out = dict(record)
    for name, kind in CUSTOMER_FIELDS.items():
        value = out.get(name)
        if value is None:
            continue
        if kind == "datetime":
            out[name] = _datetime(value)
        elif kind == "date":
            out[name] = _date(value)
        elif kind == "decimal":
            out[name] = value if isinstance(value, str) else repr(value)
        elif kind == "number":
            out[name] = float(value)
        elif kind == "integer":
            out[name] = int(value)
    return out


def _page_url(base, params):
    token = params.get("_next")
    if token:
        return token
    size = int(params.get("_page_size") or 100)
    return base + "?$top=" + str(size) + "&$skip=0"


def _list(params, base, record_path, next_path):
    url = _page_url(base, params)
    if params.get("_mode", "host") == "guest":
        try:
            response = host.send(_request(url, headers=[("Accept", "application/json")]))
        except Err as error:
            _host_error(error)
        if response.status >= 400:
            raise GuestFailure("http_error", "HTTP " + str(response.status), response.status,
                               response.status >= 500)
        document = json.loads(response.body)
        node = document
        for key in record_path:
            node = node[key]
        meta = document
        for key in next_path:
            meta = meta.get(key) if isinstance(meta, dict) else None
        return {
            "status": response.status,
            "records": [_normalise(r) for r in node],
            "next": meta,
            "entity": "customer",
        }
    try:
        page = host.fetch_json_records(
            _request(url, headers=[("Accept", "application/json")]), record_path, [".".join(next_path)]
        )
    except Err as error:
        _host_error(error)
    meta = json.loads(page.meta_json)
    return {
        "status": page.status,
        "host_page": page.page_id,
        "fields": CUSTOMER_FIELDS,
        "next": meta.get(".".join(next_path)),
        "entity": "customer",
    }


def list_customers(params):
    return _list(params, "/odata/v4/customers", ["value"], ["@odata.nextLink"])


def list_customers_v2(params):
    return _list(params, "/odata/v2/Customers", ["d", "results"], ["d", "__next"])


def get_customer(params):
    if "id" not in params:
        raise GuestFailure("bad_params", "missing required parameter 'id'")
    try:
        response = host.send(_request("/api/v1/customers/" + str(int(params["id"]))))
    except Err as error:
        _host_error(error)
    if response.status == 404:
        return {"status": 404, "result": None}
    if response.status >= 400:
        raise GuestFailure("http_error", response.body[:200], response.status, response.status >= 500)
    return {"status": response.status, "result": _normalise(json.loads(response.body)), "entity": "customer"}


def fetch_path(params):
    try:
        page = host.fetch_json_records(
            _request(params["path"]), params.get("record_path", ["value"]), params.get("meta_paths", [])
        )
    except Err as error:
        _host_error(error)
    return {"status": page.status, "host_page": page.page_id, "next": None,
            "result": json.loads(page.meta_json)}


def send_path(params):
    try:
        response = host.send(
            _request(params["path"], params.get("method", "GET"),
                     [tuple(h) for h in params.get("headers", [])], params.get("body"))
        )
    except Err as error:
        _host_error(error)
    return {"status": response.status, "result": {"status": response.status, "body": response.body}}


def echo(params):
    for line in params.get("log", []):
        host.log("info", line)
    return {"result": params}


HANDLERS = {
    "list_customers": list_customers,
    "list_customers_v2": list_customers_v2,
    "get_customer": get_customer,
    "fetch_path": fetch_path,
    "send_path": send_path,
    "echo": echo,
}


class WitWorld(wit_world.WitWorld):
    def describe(self) -> str:
        return json.dumps({
            "name": "test-erp",
            "version": 1,
            "operations": OPERATIONS,
            "entities": {"customer": CUSTOMER_FIELDS},
        })

    def execute(self, operation: str, params_json: str) -> str:
        try:
            handler = HANDLERS.get(operation)
            if handler is None:
                raise GuestFailure("bad_operation", "unknown operation " + repr(operation))
            params = json.loads(params_json)
            return json.dumps(handler(params))
        except GuestFailure as failure:
            raise Err(json.dumps(failure.payload)) from None
        except Err:
            raise
        except Exception as exc:  # never let an exception trap the instance
            message = type(exc).__name__ + ": " + str(exc)
            raise Err(json.dumps({"kind": "guest_bug", "message": message})) from None
