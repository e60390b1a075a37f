"""OData V2 / V4 EDMX ``$metadata`` documents -> SdkSpec."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from erp_platform.sandbox._manifest import AuthConfig, AuthScheme, HeaderSource
from erp_platform.sandbox._protocol import FieldKind
from sdk_builder._credentials import credential_requirements
from sdk_builder._documents import not_a_spec
from sdk_builder._errors import SpecError
from sdk_builder._model import (
    DateFormat,
    Decision,
    DecisionSource,
    Entity,
    EntityField,
    Incremental,
    IncrementalMode,
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
from sdk_builder._openapi import BuildOptions, undeclared_cookie
from sdk_builder._openapi_schema import SkipOperation
from sdk_builder._paging_rules import cursor_field
from sdk_builder._servers_auth import normalise_base_url

_KINDS = {
    "String": FieldKind.STRING, "Guid": FieldKind.STRING, "Boolean": FieldKind.BOOLEAN,
    "Byte": FieldKind.INTEGER, "SByte": FieldKind.INTEGER, "Int16": FieldKind.INTEGER,
    "Int32": FieldKind.INTEGER, "Int64": FieldKind.INTEGER, "Decimal": FieldKind.DECIMAL,
    "Single": FieldKind.NUMBER, "Double": FieldKind.NUMBER, "Float": FieldKind.NUMBER,
    "DateTime": FieldKind.DATETIME, "DateTimeOffset": FieldKind.DATETIME, "Date": FieldKind.DATE,
    "Time": FieldKind.STRING, "TimeOfDay": FieldKind.STRING, "Duration": FieldKind.STRING,
    "Binary": FieldKind.STRING, "Stream": FieldKind.JSON,
}
# (literal kind, parameter type) of a primitive type written in a URL, per OData version.
_V2_LITERALS = {
    "String": ("string", ParamType.STRING), "Guid": ("typed:guid", ParamType.STRING),
    "Boolean": ("bool", ParamType.BOOLEAN), "Byte": ("int", ParamType.INTEGER),
    "SByte": ("int", ParamType.INTEGER), "Int16": ("int", ParamType.INTEGER),
    "Int32": ("int", ParamType.INTEGER), "Int64": ("int_l", ParamType.INTEGER),
    "Decimal": ("num_m", ParamType.NUMBER),
    "Double": ("num_d", ParamType.NUMBER), "Single": ("num_f", ParamType.NUMBER),
    "Float": ("num_f", ParamType.NUMBER), "DateTime": ("typed:datetime", ParamType.STRING),
    "DateTimeOffset": ("typed:datetimeoffset", ParamType.STRING), "Time": ("typed:time", ParamType.STRING),
}
_V4_LITERALS = {
    "String": ("string", ParamType.STRING), "Guid": ("guid", ParamType.STRING),
    "Boolean": ("bool", ParamType.BOOLEAN), "Byte": ("int", ParamType.INTEGER),
    "SByte": ("int", ParamType.INTEGER), "Int16": ("int", ParamType.INTEGER),
    "Int32": ("int", ParamType.INTEGER), "Int64": ("int", ParamType.INTEGER),
    "Decimal": ("num", ParamType.NUMBER), "Double": ("num", ParamType.NUMBER),
    "Single": ("num", ParamType.NUMBER), "Date": ("temporal", ParamType.STRING),
    "DateTimeOffset": ("temporal", ParamType.STRING), "TimeOfDay": ("temporal", ParamType.STRING),
    "Duration": ("typed:duration", ParamType.STRING),
}
_JSON_TYPES = {
    FieldKind.STRING: ParamType.STRING, FieldKind.INTEGER: ParamType.INTEGER,
    FieldKind.NUMBER: ParamType.NUMBER, FieldKind.DECIMAL: ParamType.NUMBER,
    FieldKind.BOOLEAN: ParamType.BOOLEAN, FieldKind.DATE: ParamType.STRING,
    FieldKind.DATETIME: ParamType.STRING, FieldKind.JSON: ParamType.ANY,
}
_QUERY_OPTIONS = (
    ("$filter", "filter expression, e.g. Name eq 'x'"),
    ("$select", "comma-separated properties to return"),
    ("$expand", "comma-separated navigation properties to expand"),
    ("$orderby", "sort order, e.g. Name desc"),
)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _attr(element: Element, name: str) -> str | None:
    if name in element.attrib:
        return element.attrib[name]
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _descendants(element: Element, name: str) -> list[Element]:
    return [child for child in element.iter() if _local(child.tag) == name]


@dataclass(frozen=True)
class _Result:
    collection: bool = False
    record_path: tuple[str, ...] = ()
    entity: str | None = None


@dataclass(frozen=True)
class _TypeRef:
    collection: bool
    name: str  # qualified type name as written (Edm.String, NS.Type)


def _type_ref(text: str) -> _TypeRef:
    if text.startswith("Collection(") and text.endswith(")"):
        return _TypeRef(True, text[len("Collection(") : -1])
    return _TypeRef(False, text)


class EdmxBuilder:
    """Builds a :class:`ParsedSpec` from an EDMX document root."""

    def __init__(
        self, root: Element, *, options: BuildOptions, spec_hash: str, warnings: tuple[str, ...] = ()
    ) -> None:
        self.root = root
        self.options = options
        self.filename = options.filename
        self.spec_hash = spec_hash
        self.warnings: list[str] = list(warnings)
        self.skipped: list[SkippedOperation] = []
        self.entities: dict[str, Entity] = {}
        self.names = NameAllocator(reserved={"self"})
        self.v4 = False
        self.types: dict[str, Element] = {}  # qualified (and alias-qualified) name -> type element
        self.kind_of: dict[str, str] = {}  # qualified name -> EntityType | ComplexType | EnumType
        self.namespaces: dict[str, str] = {}  # alias or namespace -> namespace
        self.callables: dict[str, list[Element]] = {}  # V4 Function / Action by qualified and short name
        self.associations: dict[str, Element] = {}

    # -- document -----------------------------------------------------------------------------------------

    def build(self) -> ParsedSpec:
        """Parse the EDMX into operations (entity sets, navigation, function and action imports)."""
        if _local(self.root.tag) != "Edmx":
            raise not_a_spec(self.filename)
        version = _attr(self.root, "Version") or ""
        if version in ("1.0", "2.0", "3.0"):
            self.v4 = False
        elif version.startswith("4."):
            self.v4 = True
        else:
            raise SpecError(
                f"unsupported EDMX version {version!r}: supported are 1.0 (OData V2) and 4.0/4.01 "
                "(OData V4).",
                filename=self.filename,
            )
        schemas = _descendants(self.root, "Schema")
        self._index(schemas)
        containers = [c for s in schemas for c in _children(s, "EntityContainer")]
        kinds = ("EntitySet", "FunctionImport", "ActionImport")
        members = [m for c in containers for m in c if _local(m.tag) in kinds]
        if not members:
            raise SpecError(
                "EDMX document has no EntitySet, FunctionImport or ActionImport in any EntityContainer: "
                "nothing to build. Pass the service's complete $metadata document.",
                filename=self.filename,
            )
        if any(n.lower() == "cookie" for n, _ in self.options.headers):
            raise SpecError(undeclared_cookie(), filename=self.filename)
        base_url = self._base_url()
        operations: list[Operation] = []
        for member in members:
            kind = _local(member.tag)
            if kind == "EntitySet":
                operations.extend(self._entity_set(member))
            else:
                op = self._import(member)
                if op is not None:
                    operations.append(op)
        auth = self._auth()
        namespace = _attr(schemas[0], "Namespace") if schemas else None
        used = {op.entity for op in operations} | {
            op.request_body.entity for op in operations if op.request_body is not None
        }
        spec = SdkSpec(
            name=self.options.name or default_name(self.filename),
            title=namespace or "",
            api_version=version,
            source_format=SourceFormat.ODATA_V4 if self.v4 else SourceFormat.ODATA_V2,
            base_url=base_url,
            allowed_domains=((urlsplit(base_url).hostname or "").lower(),),
            auth=auth,
            required_headers=tuple(HeaderSource(name=n, value=v) for n, v in self.options.headers),
            credentials=credential_requirements(auth, (), auth_purpose=f"--auth {self.options.auth_scheme}"
                                                if self.options.auth_scheme else ""),
            base_url_evidence="--base-url (an EDMX document names no server)",
            operations=tuple(operations),
            entities=tuple(e for name, e in self.entities.items() if name in used),
            date_format=DateFormat.ISO if self.v4 else DateFormat.DOTNET,
            spec_hash=self.spec_hash,
        )
        return ParsedSpec(spec=spec, skipped=tuple(self.skipped), warnings=tuple(self.warnings))

    def _auth(self) -> AuthConfig:
        chosen = (self.options.auth_scheme or "").lower()
        if chosen == "bearer":
            return AuthConfig(scheme=AuthScheme.BEARER, credential="token")
        if chosen == "basic":
            return AuthConfig(scheme=AuthScheme.BASIC, credential="password", username_credential="username")
        if chosen not in ("", "none"):
            raise SpecError(
                f"--auth {self.options.auth_scheme!r} is not supported for EDMX documents: pass "
                "--auth bearer, --auth basic or --auth none.",
                filename=self.filename,
            )
        if not chosen:
            self.warnings.append(
                f"{self.filename}: an EDMX document names no auth scheme; the SDK sends no credentials. "
                "Pass --auth basic or --auth bearer if the service needs them."
            )
        return AuthConfig()

    def _base_url(self) -> str:
        if self.options.base_url is not None:
            return normalise_base_url(self.options.base_url, what="--base-url", filename=self.filename)
        hint = ""
        for link in _descendants(self.root, "link"):
            href = _attr(link, "href") or ""
            if _attr(link, "rel") == "self" and href.endswith("$metadata"):
                root = urlsplit(href).path[: -len("$metadata")]
                hint = f" (the service root, e.g. https://<erp-host>{root})"
        raise SpecError(
            f"an EDMX document has no base URL: pass --base-url https://<erp-host>/<service-root>/{hint}.",
            filename=self.filename,
        )

    def _index(self, schemas: list[Element]) -> None:
        for schema in schemas:
            namespace = _attr(schema, "Namespace") or ""
            alias = _attr(schema, "Alias")
            prefixes = [namespace] + ([alias] if alias else [])
            for prefix in prefixes:
                self.namespaces[prefix] = namespace
            for element in schema:
                kind = _local(element.tag)
                name = _attr(element, "Name") or ""
                if kind in ("EntityType", "ComplexType", "EnumType"):
                    for prefix in prefixes:
                        self.types[f"{prefix}.{name}"] = element
                        self.kind_of[f"{prefix}.{name}"] = kind
                elif kind in ("Function", "Action"):
                    for key in [name] + [f"{p}.{name}" for p in prefixes]:
                        self.callables.setdefault(key, []).append(element)
                elif kind == "Association":
                    for prefix in prefixes:
                        self.associations[f"{prefix}.{name}"] = element

    # -- types --------------------------------------------------------------------------------------------

    def _properties(self, type_name: str) -> tuple[list[Element], list[str], list[Element]]:
        """Properties, key names and navigation properties of a type, base types first."""
        chain: list[Element] = []
        seen: set[str] = set()
        current: str | None = type_name
        while current and current in self.types and current not in seen:
            seen.add(current)
            chain.insert(0, self.types[current])
            current = _attr(self.types[current], "BaseType")
        props: list[Element] = []
        keys: list[str] = []
        navs: list[Element] = []
        for element in chain:
            props.extend(_children(element, "Property"))
            navs.extend(_children(element, "NavigationProperty"))
            for key in _children(element, "Key"):
                keys.extend(_attr(ref, "Name") or "" for ref in _children(key, "PropertyRef"))
        return props, keys, navs

    def _field_kind(self, owner: str, prop: Element) -> FieldKind:
        ref = _type_ref(_attr(prop, "Type") or "")
        if ref.collection or _attr(prop, "CollectionKind"):
            return FieldKind.JSON
        if ref.name.startswith("Edm."):
            short = ref.name[4:]
            if short in _KINDS:
                return _KINDS[short]
            if not short.startswith(("Geography", "Geometry")):
                self.warnings.append(
                    f"{self.filename}: {owner}.{_attr(prop, 'Name')}: unknown type {ref.name}; kept as JSON"
                )
            return FieldKind.JSON
        if self.kind_of.get(ref.name) == "EnumType":
            return FieldKind.STRING
        return FieldKind.JSON

    def _entity(self, qualified: str) -> str:
        short = qualified.rsplit(".", 1)[-1]
        if short in self.entities:
            return short
        props, keys, _ = self._properties(qualified)
        fields = tuple(
            EntityField(
                name=_attr(p, "Name") or "",
                kind=self._field_kind(short, p),
                nullable=(_attr(p, "Nullable") or "true").lower() != "false",
                description=_attr(p, "label") or _attr(p, "quickinfo") or "",
            )
            for p in props
        )
        self.entities[short] = Entity(name=short, fields=fields, keys=tuple(keys))
        return short

    def _literal(self, type_name: str) -> tuple[str, ParamType] | None:
        if type_name.startswith("Edm."):
            return (_V4_LITERALS if self.v4 else _V2_LITERALS).get(type_name[4:])
        if self.v4 and self.kind_of.get(type_name) == "EnumType":
            namespace, _, short = type_name.rpartition(".")
            return f"typed:{self.namespaces.get(namespace, namespace)}.{short}", ParamType.STRING
        return None

    # -- entity sets --------------------------------------------------------------------------------------

    def _skip(self, op_id: str, method: str, path: str, reason: str) -> None:
        self.skipped.append(SkippedOperation(operation_id=op_id, method=method, path=path, reason=reason))

    def _key_params(
        self, type_name: str, keys: list[str], props: list[Element]
    ) -> tuple[str, list[Parameter]]:
        by_name = {_attr(p, "Name"): p for p in props}
        params: list[Parameter] = []
        pieces: list[str] = []
        names = NameAllocator(reserved=PARAMETER_RESERVED)
        for key in keys:
            prop = by_name.get(key)
            literal = self._literal(_attr(prop, "Type") or "") if prop is not None else None
            if literal is None:
                raise SkipOperation(f"key property '{key}' of {type_name} has no URL literal form")
            params.append(
                Parameter(
                    name=names.take(snake_case(key, fallback="key")),
                    wire_name=key,
                    location=ParamLocation.PATH,
                    type=literal[1],
                    required=True,
                    description=f"key property {key}",
                    encoding=ValueEncoding.ODATA_LITERAL,
                    odata_literal=literal[0],
                )
            )
            pieces.append(f"{{{key}}}" if len(keys) == 1 else f"{key}={{{key}}}")
        return "(" + ",".join(pieces) + ")", params

    def _query_options(self, *, collection: bool) -> list[Parameter]:
        options = _QUERY_OPTIONS if collection else _QUERY_OPTIONS[1:3]
        return [
            Parameter(name=wire[1:], wire_name=wire, location=ParamLocation.QUERY, description=text,
                      encoding=ValueEncoding.FORM)
            for wire, text in options
        ]

    def _entity_set(self, entity_set: Element) -> list[Operation]:
        set_name = _attr(entity_set, "Name") or ""
        type_name = _attr(entity_set, "EntityType") or ""
        snake = snake_case(set_name, fallback="set")
        verbs = ("list", "get", "create", "update", "delete")
        ids = {verb: self.names.take(f"{verb}_{snake}") for verb in verbs}
        if type_name not in self.types:
            for op_id in ids.values():
                self._skip(op_id, "GET", set_name, f"entity type {type_name!r} is not defined")
            return []
        entity = self._entity(type_name)
        props, keys, navs = self._properties(type_name)
        flags = {k: (_attr(entity_set, k) or "true").lower() != "false"
                 for k in ("creatable", "updatable", "deletable", "pageable", "addressable")}
        ops = [self._list_op(ids["list"], set_name, set_name, entity, pageable=flags["pageable"])]
        try:
            key_segment, key_params = self._key_params(type_name, keys, props) if keys else ("", [])
        except SkipOperation as exc:
            key_segment, key_params, no_key = "", [], str(exc)
        else:
            no_key = "" if keys else f"entity type {type_name.rsplit('.', 1)[-1]} has no key"
        keyed = f"{set_name}{key_segment}"
        body = RequestBody(required=True, entity=entity)
        body_param = Parameter(
            name="body", wire_name="body", location=ParamLocation.BODY, type=ParamType.OBJECT, required=True,
            description=f"the {entity} record", encoding=ValueEncoding.PLAIN,
        )
        plan = [
            ("get", "GET", flags["addressable"], "sap:addressable is false"),
            ("create", "POST", flags["creatable"], "sap:creatable is false"),
            ("update", "PATCH", flags["updatable"], "sap:updatable is false"),
            ("delete", "DELETE", flags["deletable"], "sap:deletable is false"),
        ]
        for verb, method, allowed, why_not in plan:
            path = set_name if verb == "create" else keyed
            if not allowed:
                self._skip(ids[verb], method, path, why_not)
                continue
            if verb != "create" and no_key:
                self._skip(ids[verb], method, set_name, f"{no_key}: single records cannot be addressed")
                continue
            params = [] if verb == "create" else list(key_params)
            if verb == "get":
                params += self._query_options(collection=False)
            if verb in ("create", "update"):
                params.append(body_param)
            returns = verb in ("get", "create")
            ops.append(
                Operation(
                    id=ids[verb], source_id=f"{method} {path}", method=method, path=path,
                    summary=f"{verb.capitalize()} one {entity} record of {set_name}",
                    parameters=tuple(params), request_body=body if verb in ("create", "update") else None,
                    entity=entity if returns else None, resource=set_name,
                    record_path=(() if self.v4 else ("d",)) if returns else (),
                    date_format=DateFormat.ISO if self.v4 else DateFormat.DOTNET,
                )
            )
        for nav in navs:
            ops.extend(self._navigation(set_name, nav, keyed=keyed, key_params=key_params, no_key=no_key))
        return ops

    def _list_op(self, op_id: str, set_name: str, path: str, entity: str, *, pageable: bool,
                 params: tuple[Parameter, ...] = (), summary: str = "") -> Operation:
        next_path = "@odata.nextLink" if self.v4 else "d.__next"
        pagination = (
            Pagination(style=PaginationStyle.ODATA_NEXT_LINK, size_param="$top", position_param="$skip",
                       next_path=next_path)
            if pageable else Pagination()
        )
        field = cursor_field(self.entities[entity])
        incremental = None
        if field is not None:
            literal = "iso"
            if not self.v4:
                prop_type = next(
                    (_attr(p, "Type") for p in self._properties(self._qualified(entity))[0]
                     if _attr(p, "Name") == field), "Edm.DateTime",
                )
                literal = "v2_datetimeoffset" if prop_type == "Edm.DateTimeOffset" else "v2_datetime"
            incremental = Incremental(field=field, mode=IncrementalMode.ODATA_FILTER, param="$filter",
                                      literal=literal)
        envelope = "OData V4 `value` array" if self.v4 else "OData V2 `d.results` array (count in `d.__count`)"
        paging_note = (
            f"OData server-driven paging: follows `{next_path}` ($skiptoken); `$top`/`$skip` when the server "
            "sends no next link" if pageable else "not pageable (the entity set refuses $top/$skip)"
        )
        incremental_note = (
            f"OData `$filter` on the change field `{field}`" if incremental is not None
            else "no DateTime property named like a change field"
        )
        evidence = OperationEvidence(
            selector=Decision(source=DecisionSource.SPEC, evidence=envelope),
            paging=Decision(source=DecisionSource.SPEC if pageable else DecisionSource.NONE, evidence=paging_note),
            primary_key=self._key_decision(entity),
            incremental=Decision(
                source=DecisionSource.SPEC if incremental is not None else DecisionSource.NONE,
                evidence=incremental_note,
            ),
        )
        return Operation(
            id=op_id, source_id=f"GET {path}", method="GET", path=path,
            summary=summary or f"List {entity} records of {set_name}",
            parameters=(*params, *self._query_options(collection=True)), entity=entity, resource=set_name,
            collection=True, record_path=("value",) if self.v4 else ("d", "results"), pagination=pagination,
            date_format=DateFormat.ISO if self.v4 else DateFormat.DOTNET, incremental=incremental,
            primary_key=self.entities[entity].keys, evidence=evidence,
        )

    def _key_decision(self, entity: str | None) -> Decision:
        keys = self.entities[entity].keys if entity is not None and entity in self.entities else ()
        if not keys:
            return Decision(source=DecisionSource.NONE, evidence=f"entity type {entity} declares no Key")
        listed = " + ".join(f"`{k}`" for k in keys)
        return Decision(source=DecisionSource.SPEC, evidence=f"EDMX Key of entity type {entity}: {listed}")

    def _qualified(self, short: str) -> str:
        return next((q for q in self.types if q.rsplit(".", 1)[-1] == short), short)

    def _navigation(self, set_name: str, nav: Element, *, keyed: str, key_params: list[Parameter],
                    no_key: str) -> list[Operation]:
        nav_name = _attr(nav, "Name") or ""
        target, many = self._nav_target(nav)
        verb = "list" if many else "get"
        op_id = self.names.take(f"{verb}_{snake_case(set_name)}_{snake_case(nav_name)}")
        path = f"{keyed}/{nav_name}"
        if no_key:
            self._skip(op_id, "GET", f"{set_name}/{nav_name}", f"{no_key}: its navigation cannot be followed")
            return []
        if target is None or target not in self.types:
            self._skip(op_id, "GET", path, f"navigation property {nav_name} has no resolvable target type")
            return []
        entity = self._entity(target)
        if many:
            op = self._list_op(
                op_id, set_name, path, entity, pageable=True, params=tuple(key_params),
                summary=f"List the {nav_name} ({entity}) of one {set_name} record",
            )
            return [op.model_copy(update={"resource": set_name})]
        return [
            Operation(
                id=op_id, source_id=f"GET {path}", method="GET", path=path,
                summary=f"Get the {nav_name} ({entity}) of one {set_name} record",
                parameters=(*key_params, *self._query_options(collection=False)), entity=entity,
                resource=set_name, record_path=() if self.v4 else ("d",),
                date_format=DateFormat.ISO if self.v4 else DateFormat.DOTNET,
            )
        ]

    def _nav_target(self, nav: Element) -> tuple[str | None, bool]:
        if self.v4:
            ref = _type_ref(_attr(nav, "Type") or "")
            return ref.name, ref.collection
        association = self.associations.get(_attr(nav, "Relationship") or "")
        if association is None:
            return None, False
        to_role = _attr(nav, "ToRole")
        for end in _children(association, "End"):
            if _attr(end, "Role") == to_role:
                return _attr(end, "Type"), _attr(end, "Multiplicity") == "*"
        return None, False

    # -- function and action imports ----------------------------------------------------------------------

    def _import(self, element: Element) -> Operation | None:
        name = _attr(element, "Name") or ""
        op_id = self.names.take(snake_case(name, fallback="op"))
        is_action = _local(element.tag) == "ActionImport"
        try:
            if not self.v4:
                return self._v2_function(op_id, name, element)
            return self._v4_import(op_id, name, element, is_action)
        except SkipOperation as exc:
            posted = is_action or (_attr(element, "HttpMethod") or "GET").upper() == "POST"
            method = "POST" if posted else "GET"
            self._skip(op_id, method, name, str(exc))
            return None

    def _return(self, name: str, return_type: str | None) -> _Result:
        """Collection flag, record path and entity of an import's result."""
        if not return_type:
            return _Result()
        ref = _type_ref(return_type)
        kind = self.kind_of.get(ref.name)
        short = ref.name[4:] if ref.name.startswith("Edm.") else ""
        if short and short not in _KINDS and not short.startswith(("Geography", "Geometry")):
            raise SkipOperation(f"return type {return_type} is not a known EDM type")
        if not short and kind is None:
            raise SkipOperation(f"return type {return_type} is not defined in the document")
        entity = self._entity(ref.name) if kind == "EntityType" else None
        if ref.collection:
            path = ("value",) if self.v4 else ("d", "results")
            return _Result(collection=entity is not None, record_path=path, entity=entity)
        if entity is not None:
            return _Result(record_path=() if self.v4 else ("d",), entity=entity)
        if self.v4:
            return _Result(record_path=() if kind else ("value",))
        return _Result(record_path=("d", name))

    def _v2_function(self, op_id: str, name: str, element: Element) -> Operation:
        method = (_attr(element, "HttpMethod") or "GET").upper()
        if method not in ("GET", "POST"):
            raise SkipOperation(f"HTTP method {method} of a function import is not supported")
        names = NameAllocator(reserved=PARAMETER_RESERVED)
        params: list[Parameter] = []
        for p in _children(element, "Parameter"):
            p_name, p_type = _attr(p, "Name") or "", _attr(p, "Type") or ""
            literal = self._literal(p_type)
            if literal is None:
                raise SkipOperation(f"parameter {p_name} has type {p_type}, which has no URL literal form")
            params.append(Parameter(
                name=names.take(snake_case(p_name, fallback="param")), wire_name=p_name,
                location=ParamLocation.QUERY, type=literal[1],
                required=(_attr(p, "Nullable") or "true").lower() == "false",
                encoding=ValueEncoding.ODATA_LITERAL, odata_literal=literal[0],
            ))
        result = self._return(name, _attr(element, "ReturnType"))
        return self._import_op(op_id, name, method, path=name, params=params, result=result)

    def _import_op(self, op_id: str, name: str, method: str, *, path: str, params: list[Parameter],
                   result: _Result, body_fields: bool = False) -> Operation:
        pagination = (
            Pagination(style=PaginationStyle.ODATA_NEXT_LINK, next_path="@odata.nextLink")
            if result.collection and self.v4 else Pagination()
        )
        return Operation(
            id=op_id, source_id=name, method=method, path=path,
            summary=f"{'Action' if body_fields else 'Function'} {name}", parameters=tuple(params),
            request_body=RequestBody(required=True) if body_fields and params else None,
            entity=result.entity, resource=result.entity or name, collection=result.collection,
            record_path=result.record_path, pagination=pagination,
            date_format=DateFormat.ISO if self.v4 else DateFormat.DOTNET,
            primary_key=self.entities[result.entity].keys if result.collection and result.entity else (),
            evidence=OperationEvidence(
                selector=Decision(source=DecisionSource.SPEC, evidence="OData V4 `value` array" if self.v4
                                  else "OData V2 `d.results` array"),
                paging=Decision(source=DecisionSource.SPEC if self.v4 else DecisionSource.NONE,
                                evidence="follows `@odata.nextLink`" if self.v4
                                else "function imports return one page"),
                primary_key=self._key_decision(result.entity),
                incremental=Decision(evidence="a function import takes no change cursor"),
            ) if result.collection else OperationEvidence(),
        )

    def _v4_import(self, op_id: str, name: str, element: Element, is_action: bool) -> Operation:
        target = _attr(element, "Action" if is_action else "Function") or ""
        what = "action" if is_action else "function"
        candidates = self.callables.get(target, [])
        candidates = [c for c in candidates if _local(c.tag) == ("Action" if is_action else "Function")]
        if not candidates:
            raise SkipOperation(f"{what} {target!r} is not defined in the document")
        unbound = [c for c in candidates if (_attr(c, "IsBound") or "false").lower() != "true"]
        if not unbound:
            raise SkipOperation(
                f"{what} {target!r} is bound to an entity: it cannot be called through an import"
            )
        definition = unbound[0]
        names = NameAllocator(reserved=PARAMETER_RESERVED)
        params: list[Parameter] = []
        pieces: list[str] = []
        for p in _children(definition, "Parameter"):
            p_name, p_type = _attr(p, "Name") or "", _attr(p, "Type") or ""
            required = (_attr(p, "Nullable") or "true").lower() == "false"
            py_name = names.take(snake_case(p_name, fallback="param"))
            if is_action:
                params.append(Parameter(
                    name=py_name,
                    wire_name=p_name,
                    location=ParamLocation.BODY_FIELD,
                    type=self._json_param_type(p_name, p_type),
                    required=required,
                    encoding=ValueEncoding.PLAIN,
                ))
                continue
            literal = self._literal(p_type)
            if literal is None:
                raise SkipOperation(f"parameter {p_name} has type {p_type}, which has no URL literal form")
            params.append(Parameter(
                name=py_name,
                wire_name=p_name,
                location=ParamLocation.PATH,
                type=literal[1],
                required=required,
                encoding=ValueEncoding.ODATA_LITERAL,
                odata_literal=literal[0],
            ))
            pieces.append(f"{p_name}={{{p_name}}}")
        return_types = _children(definition, "ReturnType")
        result = self._return(name, _attr(return_types[0], "Type") if return_types else None)
        path = name if is_action else f"{name}({','.join(pieces)})"
        method = "POST" if is_action else "GET"
        return self._import_op(
            op_id, name, method, path=path, params=params, result=result, body_fields=is_action
        )

    def _json_param_type(self, p_name: str, p_type: str) -> ParamType:
        ref = _type_ref(p_type)
        if ref.collection:
            return ParamType.ARRAY
        if ref.name.startswith("Edm."):
            short = ref.name[4:]
            if short.startswith(("Geography", "Geometry")):
                return ParamType.OBJECT
            if short not in _KINDS:
                raise SkipOperation(f"parameter {p_name} has type {p_type}, which is not a known EDM type")
            return _JSON_TYPES[_KINDS[short]]
        kind = self.kind_of.get(ref.name)
        if kind is None:
            raise SkipOperation(f"parameter {p_name} has type {p_type}, which is not defined in the document")
        return ParamType.STRING if kind == "EnumType" else ParamType.OBJECT

