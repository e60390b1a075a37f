"""Page-style REST: ``/api/v1/<entity>?page=&pageSize=&updated_since=``, single records, one POST."""

from __future__ import annotations

import hashlib
import math
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from erp_platform.mock_erp._activity import CreateRecord
from erp_platform.mock_erp._auth import Authenticator
from erp_platform.mock_erp._entities import CUSTOMERS, SALES_ORDERS, DateFormat, EntitySpec
from erp_platform.mock_erp._http import ApiError, Request, Response
from erp_platform.mock_erp._paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    fetch_page,
    int_param,
    timestamp_ms,
)
from erp_platform.mock_erp._rows import iso_from_ms, render_record
from erp_platform.mock_erp._state import MockErpState, StoredResponse
from erp_platform.mock_erp._timeline import STEP_MS

IDEMPOTENCY_HEADER = "Idempotency-Key"


def rest_list(state: MockErpState, auth: Authenticator, request: Request, spec: EntitySpec) -> Response:
    """``GET /api/v1/<entity>``."""
    tenant = auth.tenant(request)
    page_no = int_param(request, "page", default=1, minimum=1, maximum=10**9)
    size = int_param(request, "pageSize", default=DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    since = request.param("updated_since")
    after_ms = None if since is None or not since.strip() else timestamp_ms(since.strip(), "updated_since")
    page = fetch_page(
        state, tenant, spec, DateFormat.ISO, after_ms=after_ms, offset=(page_no - 1) * size, limit=size
    )
    head = orjson.dumps(
        {
            "page": page_no,
            "pageSize": size,
            "pageCount": math.ceil(page.total / size),
            "totalCount": page.total,
        }
    )
    return Response(200, b"".join([head[:-1], b',"items":', *page.json_array(), b"}"]))


def rest_get(
    state: MockErpState, auth: Authenticator, request: Request, spec: EntitySpec, raw_id: str
) -> Response:
    """``GET /api/v1/<entity>/<id>``."""
    tenant = auth.tenant(request)
    if not raw_id.isdigit() or len(raw_id) > 12:
        raise ApiError(
            400, "invalid_id", f"{spec.rest_path} id {raw_id!r} is invalid: use a positive integer"
        )
    with state.lock:
        timeline = state.timeline(tenant, spec.name)
        ref = timeline.locate(int(raw_id) - 1) if int(raw_id) > 0 else None
        record = None if ref is None else timeline.records.get(ref.index)
        count = timeline.count
    if ref is None:
        raise ApiError(
            404, "not_found", f"no {spec.name} record with id {raw_id}: ids run from 1 to {count}"
        )
    if record is not None:
        return Response(200, render_record(spec, DateFormat.ISO, record, ref.updated_ms).encode())
    return Response(200, state.source(tenant).rows(spec, DateFormat.ISO, [ref]).blob)


class SalesOrderCreate(BaseModel):
    """Body of ``POST /api/v1/sales-orders``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: int = Field(ge=1, description="the ordering customer (customers.id)")
    total_amount: Annotated[Decimal, Field(ge=0, lt=10**12, decimal_places=2)] = Field(
        description="net total, at most 2 decimals"
    )
    order_date: date | None = Field(None, description="defaults to the creation date")
    requested_delivery_date: date | None = Field(None, description="defaults to order_date + 7 days")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = Field(
        None, description="ISO 4217 code; defaults to the customer's currency"
    )
    external_reference: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    is_priority: bool = False


def rest_create_sales_order(state: MockErpState, auth: Authenticator, request: Request) -> Response:
    """``POST /api/v1/sales-orders``, idempotent per ``Idempotency-Key`` of the tenant."""
    tenant = auth.tenant(request)
    key = request.headers.get(IDEMPOTENCY_HEADER.lower())
    fingerprint = _fingerprint(request.body)
    with state.lock:
        if key is not None:
            stored = state.stored_response(tenant, key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise ApiError(
                        422,
                        "idempotency_key_reused",
                        f"{IDEMPOTENCY_HEADER} {key!r} was already used with a different request body: "
                        "send a new key for a new order, or the original body to get the original answer",
                    )
                return _created(stored, replayed=True)
        payload = _parse(request.body)
        record = _new_order(state, tenant, payload)
        state.record(tenant, CreateRecord(entity=SALES_ORDERS.name, record=record))
        timeline = state.timeline(tenant, SALES_ORDERS.name)
        body = render_record(SALES_ORDERS, DateFormat.ISO, record, timeline.max_updated_ms).encode()
        stored = StoredResponse(fingerprint, 201, body, f"/api/v1/{SALES_ORDERS.rest_path}/{record['id']}")
        if key is not None:
            state.store_response(tenant, key, stored)
    return _created(stored, replayed=False)


def _fingerprint(body: bytes) -> str:
    """Hash of the body's JSON value (key order and whitespace do not matter), else of its bytes."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def _created(stored: StoredResponse, *, replayed: bool) -> Response:
    headers = [("Location", stored.location)]
    if replayed:
        headers.append(("Idempotent-Replayed", "true"))
    return Response(stored.status, stored.body, headers=tuple(headers))


def _parse(body: bytes) -> SalesOrderCreate:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from None
    try:
        return SalesOrderCreate.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in exc.errors()]
        raise ApiError(
            422,
            "validation_failed",
            f"sales order is invalid: {'; '.join(problems)}. Fix the fields named and send it again",
        ) from None


def _new_order(state: MockErpState, tenant: str, payload: SalesOrderCreate) -> dict[str, Any]:
    """The REST form of the new order (without updated_at); call with the state lock held."""
    customers = state.timeline(tenant, CUSTOMERS.name)
    customer = customers.locate(payload.customer_id - 1)
    if customer is None:
        raise ApiError(
            422,
            "validation_failed",
            f"sales order is invalid: customer_id: no customer with id {payload.customer_id}; "
            f"ids run from 1 to {customers.count}",
        )
    currency = payload.currency
    if currency is None:
        customer_record = customers.records.get(customer.index)
        if customer_record is None:
            rendered = state.source(tenant).rows(CUSTOMERS, DateFormat.ISO, [customer])
            customer_record = orjson.loads(rendered.blob)
        currency = str(customer_record["currency"])
    orders = state.timeline(tenant, SALES_ORDERS.name)
    created_ms = orders.max_updated_ms + STEP_MS
    created_at = iso_from_ms(created_ms)
    order_date = payload.order_date or date.fromisoformat(created_at[:10])
    delivery = payload.requested_delivery_date or order_date + timedelta(days=7)
    if delivery < order_date:
        raise ApiError(
            422,
            "validation_failed",
            f"sales order is invalid: requested_delivery_date {delivery.isoformat()} is before order_date "
            f"{order_date.isoformat()}; send a date on or after the order date",
        )
    new_id = orders.count + 1
    return {
        "id": new_id,
        "number": f"SO{new_id:08d}",
        "customer_id": payload.customer_id,
        "order_date": order_date.isoformat(),
        "requested_delivery_date": delivery.isoformat(),
        "status": "Open",
        "currency": currency,
        "line_count": 0,
        "total_amount": float(payload.total_amount),
        "external_reference": payload.external_reference,
        "is_priority": payload.is_priority,
        "created_at": created_at,
    }


def not_allowed(allowed: str) -> ApiError:
    """405 naming the allowed methods."""
    return ApiError(
        405, "method_not_allowed", f"method not allowed here: use {allowed}", (("Allow", allowed),)
    )

