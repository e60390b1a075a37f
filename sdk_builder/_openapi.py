"""OpenAPI 3.x (and converted Swagger 2.0) documents -> SdkSpec."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from erp_platform.sandbox._headers import HOST_OWNED_HEADERS, host_owned_reason
from erp_platform.sandbox._manifest import AuthConfig, AuthScheme, HeaderSource
from sdk_builder._credentials import credential_requirements
from sdk_builder._errors import SpecError
from sdk_builder._keys import infer_key
from sdk_builder._limits import RefBudget, SpecLimits
from sdk_builder._model import (
    DateFormat,
    Decision,
    DecisionSource,
    Entity,
    Operation,
    OperationEvidence,
    Pagination,
    PaginationStyle,
    Parameter,
    ParamLocation,
    ParamType,
    ParsedSpec,
    RequestBody,
    SdkSpec,
    SkippedOperation,
    SourceFormat,
    ValueEncoding,
)
from sdk_builder._naming import PARAMETER_RESERVED, NameAllocator, default_name, snake_case
from sdk_builder._openapi_schema import (
    INLINE_MAX_VALUES,
    EntityRegistry,
    Resolver,
    ResponseShape,
    SkipOperation,
    analyze_response,
    as_dict,
    media_is_json,
    ref_name,
    schema_type,
)
from sdk_builder._paging_rules import alnum, detect_incremental, detect_pagination
from sdk_builder._servers_auth import resolve_auth, resolve_base_url

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SUPPORTED_METHODS = ("get", "put", "post", "delete", "patch")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_SUCCESS = re.compile(r"^2(\d\d|XX|xx)$")
#: Headers the guest sets itself or the host owns; spec parameters with these names are not exposed.
_HOST_HEADERS = frozenset({
    *HOST_OWNED_HEADERS, "accept", "accept-encoding", "accept-charset", "content-type", "user-agent",
    "proxy-connection", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
})
_SCALAR_TYPES = {
    "string": ParamType.STRING, "integer": ParamType.INTEGER, "number": ParamType.NUMBER,
    "boolean": ParamType.BOOLEAN, "array": ParamType.ARRAY, "object": ParamType.OBJECT,
}


@dataclass(frozen=True)
class BuildOptions:
    """The caller's options of one build (they are part of the spec hash)."""

    filename: str
    base_url: str | None = None
    name: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    auth_scheme: str | None = None
    overrides: str = ""  # canonical JSON of the operator's overrides ("" for none)


@dataclass(frozen=True)
class _RawOperation:
    path: str
    method: str
    item: dict[str, Any]
    op: dict[str, Any]
    op_id: str


def undeclared_cookie() -> str:
    """The refusal of ``--header Cookie=...`` for a spec that declares no cookie."""
    return (
        f"--header 'Cookie' is refused: {host_owned_reason('cookie')}, and this spec declares none (no "
        "cookie parameter or cookie security scheme). Store session credentials with `erp credentials set`."
    )


def template_problem(template: str) -> str | None:
    """Why a path template's braces are malformed (nested, unclosed, stray or empty), or None."""
    opened = -1
    for i, ch in enumerate(template):
        if ch == "{":
            if opened >= 0:
                return f"path template {template!r} nests '{{' inside a parameter at character {i + 1}"
            opened = i
        elif ch == "}":
            if opened < 0:
                return f"path template {template!r} has a '}}' without its '{{' at character {i + 1}"
            if i == opened + 1:
                return f"path template {template!r} has an empty parameter '{{}}' at character {i}"
            opened = -1
    if opened >= 0:
        return f"path template {template!r} does not close the '{{' at character {opened + 1}"
    return None


def path_encodings(template: str) -> dict[str, ValueEncoding]:
    """For each ``{placeholder}``: a plain segment, or inside OData key parentheses (quoted or bare)."""
    found: dict[str, ValueEncoding] = {}
    depth = 0
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "{":
            end = template.find("}", i)
            if end < 0:
                break
            name = template[i + 1 : end]
            if depth == 0:
                found[name] = ValueEncoding.SEGMENT
            else:
                quoted = template[i - 1 : i] == "'" and template[end + 1 : end + 2] == "'"
                found[name] = ValueEncoding.ODATA_QUOTED if quoted else ValueEncoding.ODATA_BARE
            i = end
        i += 1
    return found


def resource_of_path(path: str) -> str:
    """The last collection segment.

    ``/companies({id})/salesInvoices({x})/Microsoft.NAV.post`` -> ``salesInvoices``.
    """
    for segment in reversed([s for s in path.split("/") if s]):
        name = re.sub(r"\(.*\)$", "", segment)
        if name and not name.startswith("{") and "." not in name:
            return name
    return "root"


class OpenApiBuilder:
    """Builds a :class:`ParsedSpec` from an OpenAPI 3 document (already decoded)."""

    def __init__(
        self, doc: dict[str, Any], *, fmt: SourceFormat, options: BuildOptions, spec_hash: str,
        warnings: tuple[str, ...] = (), limits: SpecLimits | None = None,
    ) -> None:
        self.doc = doc
        self.fmt = fmt
        self.options = options
        self.filename = options.filename
        self.spec_hash = spec_hash
        self.warnings: list[str] = list(warnings)
        self.resolver = Resolver(doc, RefBudget(limits or SpecLimits.from_env(), options.filename))
        self.registry = EntityRegistry(self.resolver)
        self.skipped: list[SkippedOperation] = []
        self.dropped_headers: set[str] = set(_HOST_HEADERS)
        self.header_purposes: dict[str, str] = {}
        self.auth_purpose = ""

    # -- whole document -----------------------------------------------------------------------------------

    def build(self) -> ParsedSpec:
        """Parse every operation; unsupported ones are reported in ``skipped``."""
        paths = self.doc.get("paths")
        if not isinstance(paths, dict) or not paths:
            label = (
                "Swagger 2.0" if self.fmt == SourceFormat.SWAGGER_2 else f"OpenAPI {self.doc.get('openapi')}"
            )
            raise SpecError(
                f"{label} document has no 'paths': nothing to build. Pass the complete spec with its paths.",
                filename=self.filename,
            )
        base_url, domains, base_evidence = resolve_base_url(
            self.doc.get("servers"), self.options.base_url, filename=self.filename
        )
        components = as_dict(self.doc.get("components"))
        auth, auth_warnings = resolve_auth(
            components.get("securitySchemes"), self.doc.get("security"), self.options.auth_scheme,
            filename=self.filename,
        )
        self.auth_purpose = _auth_purpose(components.get("securitySchemes"), auth)
        self.warnings.extend(auth_warnings)
        if auth.scheme == AuthScheme.API_KEY_HEADER and auth.header_name:
            self.dropped_headers.add(auth.header_name.lower())
        raw_ops = self._raw_operations(paths)
        required_headers = self._required_headers(raw_ops)
        operations: list[Operation] = []
        for raw in raw_ops:
            if raw.method not in _SUPPORTED_METHODS:
                self._skip(raw, f"HTTP method {raw.method.upper()} is not supported")
                continue
            try:
                operations.append(self._operation(raw))
            except (SkipOperation, KeyError, TypeError, ValueError, AttributeError) as exc:
                reason = str(exc) if isinstance(exc, SkipOperation) else f"malformed operation: {exc!r}"
                self._skip(raw, reason)
        operations = self._fill_resources(operations)
        operations = self._primary_keys(operations)
        if not operations and not self.skipped:
            ignored = "; ".join(w.removeprefix(f"{self.filename}: ") for w in self.warnings if "path '" in w)
            raise SpecError(
                f"the spec's paths define no operation{f' ({ignored})' if ignored else ''}. Pass a spec whose "
                "paths have operations (get, post, ...).",
                filename=self.filename,
            )
        if not operations:
            reasons = "; ".join(f"{s.operation_id}: {s.reason}" for s in self.skipped[:3])
            raise SpecError(
                f"none of the {len(self.skipped)} operations is supported ({reasons}). "
                "See the skipped reasons and fix the spec.",
                filename=self.filename,
            )
        used = {op.entity for op in operations} | {
            op.request_body.entity for op in operations if op.request_body is not None
        }
        entities = tuple(
            self._with_key(e, operations) for name, e in self.registry.entities.items() if name in used
        )
        info = as_dict(self.doc.get("info"))
        spec = SdkSpec(
            name=self.options.name or default_name(self.filename),
            title=str(info.get("title") or ""),
            description=str(info.get("description") or ""),
            api_version=str(info.get("version") or ""),
            source_format=self.fmt,
            base_url=base_url,
            allowed_domains=domains,
            auth=auth,
            required_headers=required_headers,
            credentials=credential_requirements(
                auth, required_headers, auth_purpose=self.auth_purpose, header_purposes=self.header_purposes
            ),
            base_url_evidence=base_evidence,
            operations=tuple(operations),
            entities=entities,
            date_format=DateFormat.DOTNET
            if operations and all(op.date_format == DateFormat.DOTNET for op in operations)
            else DateFormat.ISO,
            spec_hash=self.spec_hash,
        )
        return ParsedSpec(spec=spec, skipped=tuple(self.skipped), warnings=tuple(self.warnings))

    def _raw_operations(self, paths: dict[str, Any]) -> list[_RawOperation]:
        names = NameAllocator(reserved={"self"})
        result: list[_RawOperation] = []
        for path, raw_item in paths.items():
            if not isinstance(raw_item, dict):
                self.warnings.append(f"{self.filename}: path {str(path)!r} is not a mapping; ignored")
                continue
            try:
                item = self.resolver.deref(raw_item) if "$ref" in raw_item else raw_item
            except SkipOperation as exc:
                self.warnings.append(f"{self.filename}: path {str(path)!r} is ignored: its {exc}")
                continue
            if not isinstance(item, dict):
                self.warnings.append(f"{self.filename}: path {str(path)!r} is not a mapping; ignored")
                continue
            for method in _METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                source = op.get("operationId")
                base = snake_case(str(source)) if source else snake_case(f"{method} {path}")
                result.append(_RawOperation(str(path), method, item, op, names.take(base)))
        return result

    def _skip(self, raw: _RawOperation, reason: str) -> None:
        self.skipped.append(
            SkippedOperation(operation_id=raw.op_id, method=raw.method.upper(), path=raw.path, reason=reason)
        )

    def _parameters(self, raw: _RawOperation) -> list[dict[str, Any]]:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for source in (raw.item.get("parameters"), raw.op.get("parameters")):
            for param in source if isinstance(source, list) else []:
                resolved = self.resolver.deref(param)
                if isinstance(resolved, dict) and isinstance(resolved.get("name"), str):
                    merged[(str(resolved.get("in")), resolved["name"])] = resolved
        return list(merged.values())

    def _declares_cookie(self, raw_ops: list[_RawOperation]) -> bool:
        """The spec declares a cookie: a cookie or ``Cookie`` header parameter, or an apiKey in a cookie."""
        schemes = as_dict(as_dict(self.doc.get("components")).get("securitySchemes"))
        if any(isinstance(s, dict) and str(s.get("in")).lower() == "cookie" for s in schemes.values()):
            return True
        for raw in raw_ops:
            try:
                params = self._parameters(raw)
            except SkipOperation:
                continue
            if any(p.get("in") == "cookie" or (p.get("in") == "header" and str(p["name"]).lower() == "cookie")
                   for p in params):
                return True
        return False

    def _required_headers(self, raw_ops: list[_RawOperation]) -> tuple[HeaderSource, ...]:
        if any(n.lower() == "cookie" for n, _ in self.options.headers) and not self._declares_cookie(raw_ops):
            raise SpecError(undeclared_cookie(), filename=self.filename)
        headers: list[HeaderSource] = [HeaderSource(name=n, value=v) for n, v in self.options.headers]
        given = {n.lower() for n, _ in self.options.headers}
        counts: dict[str, int] = {}
        spelled: dict[str, str] = {}
        for raw in raw_ops:
            try:
                params = self._parameters(raw)
            except SkipOperation:
                continue
            for p in params:
                if p.get("in") == "header" and p.get("required") and p["name"].lower() not in _HOST_HEADERS:
                    counts[p["name"].lower()] = counts.get(p["name"].lower(), 0) + 1
                    spelled.setdefault(p["name"].lower(), p["name"])
                    text = str(p.get("description") or "").strip().split("\n")[0][:160]
                    if text:
                        self.header_purposes.setdefault(p["name"].lower(), text)
        for lower, count in counts.items():
            if lower not in given and count * 2 >= len(raw_ops) and lower not in self.dropped_headers:
                headers.append(HeaderSource(name=spelled[lower], credential=snake_case(spelled[lower])))
        self.dropped_headers.update(h.name.lower() for h in headers)
        return tuple(headers)

    def _fill_resources(self, operations: list[Operation]) -> list[Operation]:
        by_path = {op.path: op.entity for op in operations if op.method == "GET" and op.entity}
        filled: list[Operation] = []
        for op in operations:
            prefix = op.path if op.entity is None else ""
            while prefix and prefix not in by_path:
                prefix = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
            filled.append(op.model_copy(update={"resource": by_path[prefix]}) if prefix else op)
        return filled

    def _primary_keys(self, operations: list[Operation]) -> list[Operation]:
        """Each list operation's primary key, from stated keys, item GET paths or id-like fields."""
        item_gets = [op for op in operations if op.method == "GET"]
        done: list[Operation] = []
        for op in operations:
            if not op.collection:
                done.append(op)
                continue
            entity = self.registry.entities.get(op.entity) if op.entity else None
            stated = entity.keys if entity is not None else ()
            choice = infer_key(op, entity, item_gets, stated=stated,
                               stated_by=f"the record schema `{op.entity}` states its key (x-primary-key)")
            evidence = op.evidence.model_copy(update={"primary_key": choice.decision})
            done.append(op.model_copy(update={"primary_key": choice.fields, "evidence": evidence}))
        return done

    @staticmethod
    def _with_key(entity: Entity, operations: list[Operation]) -> Entity:
        if entity.keys:
            return entity
        for op in operations:
            if op.collection and op.entity == entity.name and op.primary_key:
                return entity.model_copy(update={"keys": op.primary_key})
        return entity

    # -- one operation ------------------------------------------------------------------------------------

    def _operation(self, raw: _RawOperation) -> Operation:
        problem = template_problem(raw.path)
        if problem is not None:
            raise SkipOperation(f"{problem}: write each parameter as {{name}}")
        encodings = path_encodings(raw.path)
        params = self._parameters(raw)
        declared_path = {p["name"] for p in params if p.get("in") == "path"}
        for placeholder in encodings:
            if placeholder not in declared_path:
                raise SkipOperation(f"path parameter '{{{placeholder}}}' is not declared in the operation")
        names = NameAllocator(reserved=PARAMETER_RESERVED)
        ordered = sorted(
            params, key=lambda p: (0, list(encodings).index(p["name"])) if p.get("in") == "path"
            and p["name"] in encodings else (1, 0)
        )
        built: list[Parameter] = []
        query: dict[str, tuple[str, dict[str, Any]]] = {}
        headers: dict[str, tuple[str, dict[str, Any]]] = {}
        for p in ordered:
            param = self._parameter(raw, p, encodings, names)
            if param is not None:
                built.append(param)
                if param.location == ParamLocation.QUERY:
                    query.setdefault(alnum(param.wire_name), (param.wire_name, self._schema_of(p)))
                elif param.location == ParamLocation.HEADER:
                    headers.setdefault(alnum(param.wire_name), (param.wire_name, self._schema_of(p)))
        body = self._request_body(raw, names)
        if body is not None:
            built.append(body[0])
        resource = resource_of_path(raw.path)
        shape = self._response_shape(raw, resource)
        entity_name = self.registry.register(shape.record_schema, resource) if shape.record_schema else None
        entity: Entity | None = self.registry.entities.get(entity_name) if entity_name else None
        collection = raw.method == "get" and shape.collection
        pagination, incremental = Pagination(), None
        evidence = OperationEvidence()
        if collection:
            texts = [str(raw.op.get("description") or ""), str(raw.op.get("summary") or "")]
            texts += [str(self.resolver.deref(p).get("description") or "") for p in self._parameters(raw)]
            id_field = next((f.name for f in entity.fields if f.name.lower() == "id"), None) if entity else None
            pagination, paging_note = detect_pagination(query, shape, key_field=id_field, texts=texts)
            incremental, incremental_note = detect_incremental(query, shape, entity, headers=headers)
            paging_wires = {pagination.size_param, pagination.position_param} - {None}
            built = [
                p for p in built if not (p.location == ParamLocation.QUERY and p.wire_name in paging_wires)
            ]
            spec_says = DecisionSource.SPEC
            evidence = OperationEvidence(
                selector=Decision(source=spec_says, evidence=shape.evidence),
                paging=Decision(
                    source=spec_says if pagination.style != PaginationStyle.NONE else DecisionSource.NONE,
                    evidence=paging_note,
                ),
                incremental=Decision(
                    source=spec_says if incremental is not None else DecisionSource.NONE, evidence=incremental_note
                ),
            )
        if raw.method == "get" and not collection and shape.record_schema is None and not raw.path.endswith("}"):
            self.warnings.append(
                f"{self.filename}: {raw.op_id} (GET {raw.path}): the response has no schema, so where its records "
                f"are is unknown and it is read as one result; if it returns a list, rebuild with "
                f"--set {raw.op_id}.record_path=PATH (dotted, '' for a top-level array)"
            )
        summary = str(raw.op.get("summary") or "").strip()
        description = str(raw.op.get("description") or "").strip()
        return Operation(
            id=raw.op_id,
            source_id=str(raw.op.get("operationId") or f"{raw.method.upper()} {raw.path}"),
            method=raw.method.upper(),
            path=raw.path.lstrip("/"),
            summary=summary or description.split("\n")[0].strip(),
            description=description,
            parameters=tuple(built),
            request_body=None if body is None else body[1],
            entity=entity_name,
            resource=entity_name or resource,
            collection=collection,
            record_path=shape.record_path,
            pagination=pagination if pagination.style != PaginationStyle.NONE or collection else Pagination(),
            date_format=shape.date_format,
            incremental=incremental,
            evidence=evidence,
            deprecated=bool(raw.op.get("deprecated")),
        )

    def _schema_of(self, param: dict[str, Any]) -> dict[str, Any]:
        if "schema" in param:
            return self.resolver.flatten(param["schema"])
        content = param.get("content")
        if isinstance(content, dict) and content:
            return {"type": "string"}
        keys = ("type", "format", "items", "enum", "default", "minimum")
        return {k: v for k, v in param.items() if k in keys}

    def _parameter(
        self,
        raw: _RawOperation,
        p: dict[str, Any],
        encodings: Mapping[str, ValueEncoding],
        names: NameAllocator,
    ) -> Parameter | None:
        where, wire = str(p.get("in")), str(p["name"])
        required = bool(p.get("required")) or where == "path"
        schema = self._schema_of(p)
        kind, _ = schema_type(schema)
        ptype = _SCALAR_TYPES.get(kind or "", ParamType.ANY)
        item_type = None
        description = str(p.get("description") or "")

        def unsupported(reason: str) -> None:
            if required:
                raise SkipOperation(f"required parameter '{wire}': {reason}")
            self.warnings.append(
                f"{self.filename}: {raw.op_id}: optional parameter '{wire}' dropped: {reason}"
            )

        if where == "path":
            if wire not in encodings:
                self.warnings.append(
                    f"{self.filename}: {raw.op_id}: path parameter '{wire}' is not in the path"
                )
                return None
            if ptype in (ParamType.ARRAY, ParamType.OBJECT):
                raise SkipOperation(
                    f"path parameter '{wire}' is an {ptype.value}: only scalar path values work"
                )
            encoding = encodings[wire]
        elif where == "query":
            encoding = ValueEncoding.FORM
            if ptype == ParamType.ARRAY:
                items = self.resolver.flatten(schema.get("items"))
                item_kind, _ = schema_type(items)
                item_type = _SCALAR_TYPES.get(item_kind or "", ParamType.STRING)
                style = str(p.get("style") or "form")
                if item_type in (ParamType.ARRAY, ParamType.OBJECT) or style not in ("form",):
                    unsupported(f"array style '{style}' of {item_type.value} items is not supported")
                    return None
                explode = p.get("explode", True) is not False
                encoding = ValueEncoding.FORM if explode else ValueEncoding.CSV
            elif ptype == ParamType.OBJECT:
                unsupported("object-valued query parameters are not supported")
                return None
        elif where == "header":
            if wire.lower() in self.dropped_headers:
                return None
            encoding = ValueEncoding.PLAIN
            if ptype in (ParamType.ARRAY, ParamType.OBJECT):
                unsupported("structured header values are not supported")
                return None
        else:
            unsupported(f"parameters in '{where}' are not supported")
            return None
        return Parameter(
            name=names.take(snake_case(wire, fallback="param")),
            wire_name=wire,
            location=ParamLocation(where),
            type=ptype,
            item_type=item_type,
            required=required,
            description=description,
            format=str(schema["format"]) if schema.get("format") else None,
            encoding=encoding,
        )

    def _request_body(self, raw: _RawOperation, names: NameAllocator) -> tuple[Parameter, RequestBody] | None:
        node = raw.op.get("requestBody")
        if node is None:
            return None
        body_name = ref_name(node)
        body = self.resolver.deref(node)
        if not isinstance(body, dict):
            return None
        content = as_dict(body.get("content"))
        json_types = [m for m in content if media_is_json(str(m))]
        unsupported = raw.op.get("x-unsupported-body") or (
            f"request body media type {', '.join(map(str, content))} is not supported (JSON bodies only)"
            if content and not json_types else None
        )
        if unsupported:
            if raw.method in ("get", "delete") and not body.get("required"):
                # a read with an optional form body (Stripe declares one on every GET): send none
                self.warnings.append(f"{self.filename}: {raw.op_id}: optional request body dropped: {unsupported}")
                return None
            raise SkipOperation(str(unsupported))
        media = str(json_types[0]) if json_types else "application/json"
        schema = as_dict(content.get(media)).get("schema") if json_types else None
        entity = self.registry.register(schema, body_name or "body") if ref_name(schema) else None
        if entity is None and body_name and body_name in self.registry.entities:
            entity = body_name
        kind, _ = schema_type(self.resolver.flatten(schema)) if schema is not None else (None, False)
        required = bool(body.get("required"))
        param = Parameter(
            name=names.take("body"),
            wire_name="body",
            location=ParamLocation.BODY,
            type=_SCALAR_TYPES.get(kind or "", ParamType.ANY),
            required=required,
            description=str(body.get("description") or ""),
            encoding=ValueEncoding.PLAIN,
        )
        inlined, complete = self.resolver.to_json(schema) if isinstance(schema, dict) else ({}, True)
        if not complete:
            self.warnings.append(
                f"{self.filename}: the request body schema of {raw.method.upper()} {raw.path} inlines more than "
                f"{INLINE_MAX_VALUES:,} values; deeper $refs are left out of the SDK's copy of it (requests "
                "are not affected)."
            )
        request_body = RequestBody(
            content_type="application/json" if media in ("*/*", "application/*") else media,
            required=required,
            entity=entity,
            json_schema=inlined,
        )
        return param, request_body

    def _response_shape(self, raw: _RawOperation, resource: str) -> ResponseShape:
        responses = raw.op.get("responses")
        if not isinstance(responses, dict):
            return ResponseShape()
        codes = sorted(str(code) for code in responses if _SUCCESS.match(str(code)))
        chosen: dict[str, Any] = {}
        for code in codes:
            original = next(k for k in responses if str(k) == code)
            resolved = self.resolver.deref(responses[original])
            if isinstance(resolved, dict):
                chosen = resolved
                if resolved.get("content"):
                    break
        content = chosen.get("content") if isinstance(chosen.get("content"), dict) else {}
        declared = tuple(str(h).lower() for h in as_dict(chosen.get("headers")))
        if not content:
            return ResponseShape(headers=declared)
        json_types = [m for m in content if media_is_json(str(m))]
        if not json_types:
            raise SkipOperation(f"response media type {', '.join(map(str, content))} is not JSON")
        media = content[json_types[0]]
        schema = media.get("schema") if isinstance(media, dict) else None
        if schema is None or schema == {}:
            return ResponseShape(headers=declared)
        return analyze_response(self.resolver, schema, resource=resource, headers=declared)


def _auth_purpose(schemes: Any, auth: AuthConfig) -> str:
    """``security scheme `OAuth2` (oauth2)`` for the scheme the SDK uses, from the spec."""
    if auth.scheme == AuthScheme.NONE or not isinstance(schemes, dict):
        return ""
    for name, scheme in schemes.items():
        if isinstance(scheme, dict):
            kind = str(scheme.get("type") or "")
            header = str(scheme.get("name") or "")
            if auth.scheme == AuthScheme.API_KEY_HEADER and header.lower() != (auth.header_name or "").lower():
                continue
            if auth.scheme == AuthScheme.API_KEY_QUERY and header != (auth.param_name or ""):
                continue
            if auth.scheme in (AuthScheme.BEARER, AuthScheme.BASIC) and kind == "apiKey":
                continue
            return f"security scheme `{name}` ({kind})"
    return ""
