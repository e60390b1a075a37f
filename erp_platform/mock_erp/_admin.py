"""``/_admin/*``: local test controls (faults, activity, stats, reset). No auth: never expose publicly."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from erp_platform._errors import ErpPlatformError
from erp_platform.mock_erp._activity import ActivityRequest
from erp_platform.mock_erp._errors import UnknownTenantError
from erp_platform.mock_erp._faults import FaultRule
from erp_platform.mock_erp._http import ApiError, Request, Response, json_response
from erp_platform.mock_erp._state import MockErpState

ADMIN_PREFIX = "/_admin/"

_M = TypeVar("_M", bound=BaseModel)


def handle_admin(state: MockErpState, request: Request) -> Response:
    """Dispatch one admin request."""
    route = (request.method, request.path[len(ADMIN_PREFIX) :].rstrip("/"))
    try:
        return _dispatch(state, request, route)
    except UnknownTenantError as exc:
        raise ApiError(404, "unknown_tenant", exc.message) from None
    except ApiError:
        raise
    except ErpPlatformError as exc:
        raise ApiError(422, "invalid_request", exc.message) from None


def _dispatch(state: MockErpState, request: Request, route: tuple[str, str]) -> Response:
    match route:
        case ("GET", "health"):
            return json_response(200, {"status": "ok"})
        case ("GET", "config"):
            config = state.config
            return json_response(
                200, {"rows": config.rows, "seed": config.seed, "tenants": sorted(config.tenants)}
            )
        case ("GET", "stats"):
            return _model(state.stats())
        case ("POST", "reset"):
            state.reset()
            return json_response(200, {"status": "reset"})
        case ("GET", "faults"):
            return _faults(state)
        case ("POST", "faults"):
            body = _json(request)
            raw_rules = body["rules"] if isinstance(body, dict) and "rules" in body else [body]
            if not isinstance(raw_rules, list):
                raise ApiError(400, "invalid_request", "'rules' must be a JSON array of fault rules")
            rules = [_validate(FaultRule, raw, f"rules[{n}]") for n, raw in enumerate(raw_rules)]
            for rule in rules:
                state.faults.add(rule)
            return _faults(state)
        case ("DELETE", "faults"):
            state.faults.clear()
            return _faults(state)
        case ("POST", "activity"):
            req = _validate(ActivityRequest, _json(request), "body")
            return _model(state.simulate(req.tenant, req.entity, append=req.append, touch=req.touch))
        case ("GET", "activity"):
            tenant = request.param("tenant")
            if not tenant:
                raise ApiError(400, "invalid_request", "missing query parameter tenant: use ?tenant=<code>")
            return _model(state.activity_log(tenant))
    raise ApiError(
        404,
        "not_found",
        f"no admin endpoint {request.method} {request.path}: see GET /_admin/health, /_admin/config, "
        "/_admin/stats, /_admin/faults, /_admin/activity?tenant=; POST /_admin/faults, /_admin/activity, "
        "/_admin/reset; DELETE /_admin/faults",
    )


def _faults(state: MockErpState) -> Response:
    return json_response(200, {"faults": [s.model_dump(mode="json") for s in state.faults.states()]})


def _model(model: BaseModel) -> Response:
    return Response(200, model.model_dump_json().encode())


def _json(request: Request) -> Any:
    try:
        return orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from None


def _validate(model: type[_M], raw: Any, where: str) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()]
        raise ApiError(422, "validation_failed", f"{where} is invalid: {'; '.join(problems)}") from None
