"""SDKs from plain API documentation: the model extracts an SdkSpec through tool calls, every operation
citing the passage it came from, and the result goes through the normal SDK build.

Docs (Markdown, HTML or text; one file or a folder) are split into numbered passages. The model declares
the API (base URL, auth), its entities and its operations with tools; each claim must quote the passage it
came from, and the quote is checked against the docs text (an operation's passage must also contain its
path). Claims that cannot be cited are refused and reported. The accepted extraction is written as an
OpenAPI 3 document (the build's input and the version's stored spec) and built like any spec: parse,
generate, security scan, compile to WebAssembly, sandbox tests; the result is a TESTING (or FAILED)
version, never ACTIVE.
"""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant._errors import AssistantError
from assistant._model import Message, Model, ModelRequest, ToolResult, ToolSpec, ToolUse, Usage
from erp_platform._errors import InvalidInputError

_SUFFIXES = (".md", ".markdown", ".txt", ".text", ".html", ".htm")
_MAX_BYTES = 400_000  # about 100k tokens: the docs go to the model whole
_MAX_PASSAGE = 1500
_ENDPOINT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE)\s+`?(/[A-Za-z0-9_\-./{}()$']+)")
_SPACE = re.compile(r"\s+")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Passage(_Frozen):
    id: str = Field(description="file#number")
    heading: str = ""
    text: str


class DocSet(_Frozen):
    """The documentation as numbered passages."""

    name: str
    passages: tuple[Passage, ...]

    def passage(self, passage_id: str) -> Passage | None:
        return next((p for p in self.passages if p.id == passage_id), None)

    def documented_endpoints(self) -> list[tuple[str, str]]:
        """``(METHOD, /path)`` pairs written in the docs (what a complete extraction should find)."""
        seen: dict[tuple[str, str], None] = {}
        for passage in self.passages:
            for method, path in _ENDPOINT.findall(passage.text):
                seen.setdefault((method, _path_key(path)), None)
        return list(seen)

    def as_prompt(self) -> str:
        return "\n\n".join(f"[{p.id}] {p.heading}\n{p.text}" for p in self.passages)


def _path_key(path: str) -> str:
    return "/" + path.strip().strip("`").strip("/").split("?", 1)[0]


class _TextOfHtml(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("h1", "h2", "h3", "h4"):
            self.parts.append("\n\n# ")
        elif tag in ("p", "div", "pre", "li", "tr", "br", "table", "section"):
            self.parts.append("\n\n" if tag in ("p", "div", "pre", "table", "section") else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("h1", "h2", "h3", "h4"):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _text_of(path: Path) -> str:
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        parser = _TextOfHtml()
        parser.feed(raw)
        return "".join(parser.parts)
    return raw


def read_docs(source: Path) -> DocSet:
    """Read a documentation file or folder (Markdown, HTML, text) into passages.

    Raises:
        InvalidInputError: the path does not exist, holds no documentation file, or is too large.
    """
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
    elif source.is_file():
        files = [source]
    else:
        raise InvalidInputError(f"--docs {source}: no such file or folder; pass a Markdown, HTML or text file, "
                                "or a folder of them")
    if not files:
        raise InvalidInputError(f"--docs {source}: no documentation file in it ({', '.join(_SUFFIXES)})")
    total = sum(p.stat().st_size for p in files)
    if total > _MAX_BYTES:
        raise InvalidInputError(f"--docs {source}: {total} bytes of documentation, at most {_MAX_BYTES}: pass the "
                                "API reference part only")
    passages: list[Passage] = []
    for path in files:
        label = path.name if source.is_file() else str(path.relative_to(source))
        heading = ""
        blocks = re.split(r"\n\s*\n", _text_of(path))
        number = 0
        for block in blocks:
            text = block.strip()
            if not text:
                continue
            if text.startswith("#"):
                first, _, rest = text.partition("\n")
                heading = first.lstrip("#").strip()
                text = rest.strip()
                if not text:
                    continue
            for start in range(0, len(text), _MAX_PASSAGE):
                number += 1
                passages.append(Passage(id=f"{label}#{number}", heading=heading, text=text[start:start + _MAX_PASSAGE]))
    return DocSet(name=source.stem if source.is_file() else source.name, passages=tuple(passages))


# -- what the model declares --------------------------------------------------------------------------------
class Citation(_Frozen):
    passage: str = Field(description="the passage id, e.g. api.md#4")
    quote: str = Field(min_length=3, max_length=600, description="words copied exactly from that passage")


FieldType = Literal["string", "integer", "number", "decimal", "boolean", "date", "datetime", "json"]


class DocField(_Frozen):
    name: str = Field(min_length=1, max_length=100)
    type: FieldType = "string"


class DocEntity(_Frozen):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
    fields: list[DocField] = Field(min_length=1)
    citation: Citation


class DocParam(_Frozen):
    name: str = Field(min_length=1, max_length=100)
    location: Literal["path", "query", "header"] = Field("query", alias="in")
    required: bool = False
    type: Literal["string", "integer", "number", "boolean"] = "string"

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DocOperation(_Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(pattern=r"^/[A-Za-z0-9_\-./{}()$']*$")
    summary: str = ""
    entity: str | None = None
    collection: bool = True
    record_path: list[str] = Field(default_factory=list, description="keys to the record array, e.g. ['items']")
    envelope_fields: dict[str, Literal["integer", "string", "boolean"]] = Field(
        default_factory=dict, description="other top-level keys of a page, e.g. {'pageCount': 'integer'}")
    parameters: list[DocParam] = Field(default_factory=list)
    citation: Citation


class DocApi(_Frozen):
    title: str = Field(min_length=1, max_length=200)
    base_url: str = Field(pattern=r"^https?://")
    auth: Literal["bearer", "basic", "api_key_header", "none"] = "bearer"
    api_key_header: str | None = None
    citation: Citation


class Extraction(_Frozen):
    """What the model declared and the docs confirmed."""

    api: DocApi | None = None
    entities: tuple[DocEntity, ...] = ()
    operations: tuple[DocOperation, ...] = ()
    refused: tuple[str, ...] = Field((), description="claims that could not be cited, and why")


class DocsReport(_Frozen):
    """Operations found vs documented, and what could not be cited."""

    documented: tuple[str, ...]
    found: tuple[str, ...]
    missing: tuple[str, ...]
    refused: tuple[str, ...]
    rounds: int
    usage: Usage


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


class _Extractor:
    def __init__(self, docs: DocSet) -> None:
        self.docs = docs
        self.api: DocApi | None = None
        self.entities: dict[str, DocEntity] = {}
        self.operations: dict[str, DocOperation] = {}
        self.refused: list[str] = []
        self.finished = False

    def _cite(self, citation: Citation, must_contain: str | None = None) -> str | None:
        passage = self.docs.passage(citation.passage)
        if passage is None:
            example = self.docs.passages[0].id
            return f"passage {citation.passage!r} does not exist (passages are numbered like {example})"
        text = _norm(passage.text)
        if _norm(citation.quote) not in text:
            return (f"the quote {citation.quote[:80]!r} is not in passage {citation.passage}: copy the words exactly "
                    "from the passage that documents it")
        if must_contain is not None and _norm(must_contain) not in text:
            return f"passage {citation.passage} does not mention {must_contain}: cite the passage that documents it"
        return None

    def run(self, call: ToolUse) -> ToolResult:
        try:
            message = self._dispatch(call)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            message = f"invalid input at {where or '(top level)'}: {first['msg']} ({exc.error_count()} problem(s))"
            return ToolResult(tool_use_id=call.id, content=message, is_error=True)
        if message.startswith("refused"):
            self.refused.append(f"{call.name} {json.dumps(call.input)[:120]}: {message}")
            return ToolResult(tool_use_id=call.id, content=message, is_error=True)
        return ToolResult(tool_use_id=call.id, content=message)

    def _dispatch(self, call: ToolUse) -> str:
        if call.name == "declare_api":
            api = DocApi.model_validate(call.input)
            problem = self._cite(api.citation, api.base_url.rstrip("/"))
            if problem:
                return f"refused: {problem}"
            self.api = api
            return "API declared"
        if call.name == "add_entity":
            entity = DocEntity.model_validate(call.input)
            problem = self._cite(entity.citation)
            if problem:
                return f"refused: {problem}"
            self.entities[entity.name] = entity
            return f"entity {entity.name} added ({len(entity.fields)} fields)"
        if call.name == "add_operation":
            op = DocOperation.model_validate(call.input)
            problem = self._cite(op.citation, op.path)
            if problem:
                return f"refused: {op.method} {op.path}: {problem}"
            if op.entity is not None and op.entity not in self.entities:
                return f"refused: entity {op.entity!r} is not declared yet: add_entity first (cited)"
            self.operations[op.id] = op
            return f"operation {op.id} added"
        if call.name == "finish":
            self.finished = True
            return "finished"
        return f"refused: unknown tool {call.name!r}"

    def extraction(self) -> Extraction:
        return Extraction(api=self.api, entities=tuple(self.entities.values()),
                          operations=tuple(self.operations.values()), refused=tuple(self.refused))


DOCS_SYSTEM = """You turn plain API documentation into a machine-readable API description for an ERP integration
platform. Use the tools: declare_api once, add_entity for each record type, add_operation for each endpoint
(read endpoints first), then finish. Every call must cite the passage it comes from with words copied exactly
from it; a claim that cannot be cited is refused. Never invent endpoints, parameters or fields."""


def docs_tools() -> tuple[ToolSpec, ...]:
    return (
        ToolSpec(name="declare_api", description="The API's title, base URL and auth scheme, cited.",
                 input_schema=DocApi.model_json_schema()),
        ToolSpec(name="add_entity", description="A record type with its fields (exact names) and types, cited.",
                 input_schema=DocEntity.model_json_schema()),
        ToolSpec(name="add_operation", description="One endpoint: method, path, parameters, entity, where the records "
                 "are in the response (record_path) and the page's other keys (envelope_fields), cited.",
                 input_schema=DocOperation.model_json_schema(by_alias=True)),
        ToolSpec(name="finish", description="Every documented endpoint was added.",
                 input_schema={"type": "object", "properties": {}}),
    )


def extract_from_docs(docs: DocSet, model: Model, *, max_rounds: int = 40, max_tokens: int = 4096,
                      token_budget: int = 200_000) -> tuple[Extraction, DocsReport]:
    """Run the model over the docs until it finishes (or the rounds or budget are spent).

    Raises:
        ProviderUnavailable, ProviderRejected: the provider failed (nothing was built).
    """
    extractor = _Extractor(docs)
    messages: list[Message] = [Message.user(
        f"Documentation of one API, as numbered passages:\n\n{docs.as_prompt()}\n\nExtract the API with the tools.")]
    usage = Usage()
    rounds = 0
    while rounds < max_rounds and not extractor.finished and usage.total < token_budget:
        response = model.complete(ModelRequest(system=DOCS_SYSTEM, messages=tuple(messages), tools=docs_tools(),
                                               max_tokens=max_tokens))
        rounds += 1
        usage = usage + response.usage
        messages.append(response.as_message())
        if not response.tool_calls:
            break
        messages.append(Message(role="user", content=tuple(extractor.run(c) for c in response.tool_calls)))
    extraction = extractor.extraction()
    documented = [f"{m} {p}" for m, p in docs.documented_endpoints()]
    found = [f"{op.method} {_path_key(op.path)}" for op in extraction.operations]
    report = DocsReport(documented=tuple(documented), found=tuple(found),
                        missing=tuple(d for d in documented if d not in found), refused=extraction.refused,
                        rounds=rounds, usage=usage)
    return extraction, report


# -- OpenAPI 3 from an extraction -----------------------------------------------------------------------------
_SCHEMA_OF = {
    "string": {"type": "string"}, "integer": {"type": "integer", "format": "int64"}, "number": {"type": "number"},
    "decimal": {"type": "string", "format": "decimal"}, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "datetime": {"type": "string", "format": "date-time"},
    "json": {"type": "object"},
}


def to_openapi(extraction: Extraction, *, docs_name: str) -> bytes:
    """The extraction as an OpenAPI 3.0 document (the normal build's input).

    Raises:
        AssistantError: nothing usable was extracted (no API declaration or no operation).
    """
    api = extraction.api
    if api is None or not extraction.operations:
        raise AssistantError(
            f"nothing to build from the docs {docs_name!r}: "
            + ("no cited API declaration (title, base URL)" if api is None else "no cited operation")
            + (f"; refused claims: {'; '.join(extraction.refused[:5])}" if extraction.refused else "")
        )
    schemas = {e.name: {"type": "object", "properties": {f.name: dict(_SCHEMA_OF[f.type]) for f in e.fields}}
               for e in extraction.entities}
    paths: dict[str, dict[str, Any]] = {}
    for op in extraction.operations:
        record: dict[str, Any] = {"$ref": f"#/components/schemas/{op.entity}"} if op.entity else {"type": "object"}
        body: dict[str, Any] = {"type": "array", "items": record} if op.collection else record
        for key in reversed(op.record_path):
            props: dict[str, Any] = {key: body}
            if key == op.record_path[0]:
                props.update({k: {"type": v} for k, v in op.envelope_fields.items()})
            body = {"type": "object", "properties": props}
        params = [{"name": p.name, "in": p.location, "required": p.required or p.location == "path",
                   "schema": {"type": p.type}} for p in op.parameters]
        paths.setdefault(op.path, {})[op.method.lower()] = {
            "operationId": op.id, "summary": op.summary or f"{op.method} {op.path}",
            "description": f"from the docs, {op.citation.passage}: {op.citation.quote[:200]}",
            "parameters": params,
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": body}}}},
        }
    security: dict[str, Any] = {}
    if api.auth == "bearer":
        security = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    elif api.auth == "basic":
        security = {"basicAuth": {"type": "http", "scheme": "basic"}}
    elif api.auth == "api_key_header":
        security = {"apiKey": {"type": "apiKey", "in": "header", "name": api.api_key_header or "X-API-Key"}}
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": api.title, "version": "docs", "description": f"extracted from {docs_name}"},
        "servers": [{"url": api.base_url}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security},
    }
    if security:
        document["security"] = [{name: []} for name in security]
    return json.dumps(document, indent=1, sort_keys=True).encode()
