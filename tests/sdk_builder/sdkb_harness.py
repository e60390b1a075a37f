"""Runs generated guests natively in CPython against a recording host, for the sdk_builder tests.

The ``wit_world`` / ``componentize_py_types`` modules are the real bindings componentize-py generates for
the connector world; only the three host functions are replaced by a recorder. Everything imported for a
guest is removed from ``sys.modules`` afterwards, so guests of different SDKs never mix.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from erp_platform.sandbox._protocol import GuestError, GuestPage
from tests.support.specs import SHARED_SPECS

REPO = Path(__file__).resolve().parents[2]
SPECS = SHARED_SPECS
FIXTURES = Path(__file__).resolve().parent / "specs"
WIT = REPO / "erp_platform" / "sandbox" / "wit" / "connector.wit"


@dataclass
class Recorded:
    """One request the guest asked the host to make."""

    kind: str  # "send" | "fetch"
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str | None
    record_path: list[str] = field(default_factory=list)
    meta_paths: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def absolute(self, base_url: str) -> str:
        return urljoin(base_url, self.url)


Responder = Callable[[Recorded], tuple[int, Any]]


def _lookup(data: Any, path: str) -> Any:
    if isinstance(data, dict) and path in data:
        return data[path]
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


class RecordingHost:
    """Stands in for the sandbox host: records requests, answers from a responder, keeps host pages."""

    def __init__(self, module: Any, responder: Responder) -> None:
        self.module = module
        self.responder = responder
        self.requests: list[Recorded] = []
        self.pages: list[list[Any]] = []
        self.logs: list[tuple[str, str]] = []
        self.error: str | None = None  # when set, the next host call fails with this string

    def _take_error(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise sys.modules["componentize_py_types"].Err(error)

    def send(self, request: Any) -> Any:
        rec = Recorded("send", request.method, request.url, list(request.headers), request.body)
        self.requests.append(rec)
        self._take_error()
        status, body = self.responder(self.requests[-1])
        text = body if isinstance(body, str) else json.dumps(body)
        headers = [("content-type", "application/json")]
        return self.module.HttpResponse(status=status, headers=headers, body=text)

    def fetch_json_records(self, request: Any, record_path: list[str], meta_paths: list[str]) -> Any:
        """Like the sandbox host: non-2xx and a missing record path are error strings."""
        rec = Recorded("fetch", request.method, request.url, list(request.headers), request.body,
                       list(record_path), list(meta_paths))
        self.requests.append(rec)
        self._take_error()
        status, body = self.responder(rec)
        text = body if isinstance(body, str) else json.dumps(body)
        if not 200 <= status < 300:
            self.error = f"HttpError: {status} {HTTPStatus(status).phrase}: {text[:200]}"
            self._take_error()
        data = json.loads(text)
        records: Any = data
        for key in record_path:
            if not isinstance(records, dict) or key not in records:
                self.error = f"RecordPathNotFound: the JSON body has no {'.'.join(record_path)!r}"
                self._take_error()
            records = records[key]
        if not isinstance(records, list):
            self.error = f"RecordPathNotFound: {'.'.join(record_path)} is not an array of records"
            self._take_error()
        meta = {p: _lookup(data, p) for p in meta_paths}
        self.pages.append(records)
        return self.module.PageInfo(page_id=len(self.pages) - 1, status=status, record_count=len(records),
                                    meta_json=json.dumps(meta))

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))


class GuestFailed(Exception):
    """The guest returned err(GuestError JSON)."""

    def __init__(self, error: GuestError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class LoadedGuest:
    """A generated guest imported natively with its recording host."""

    world: Any
    host: RecordingHost
    err_type: type[BaseException]

    def call(self, operation: str, params: Mapping[str, Any] | None = None) -> GuestPage:
        """Run ``execute``; returns the validated GuestPage or raises :class:`GuestFailed`."""
        try:
            text = self.world.execute(operation, json.dumps(dict(params or {})))
        except self.err_type as err:
            raise GuestFailed(GuestError.model_validate_json(err.value)) from None  # type: ignore[attr-defined]
        return GuestPage.model_validate_json(text)

    def error(
        self, operation: str, params: Mapping[str, Any] | None = None, raw: str | None = None
    ) -> GuestError:
        """Run ``execute`` expecting err(GuestError)."""
        try:
            self.world.execute(operation, raw if raw is not None else json.dumps(dict(params or {})))
        except self.err_type as err:
            return GuestError.model_validate_json(err.value)  # type: ignore[attr-defined]
        raise AssertionError(f"{operation} succeeded but an error was expected")

    def describe(self) -> dict[str, Any]:
        return json.loads(self.world.describe())

    def records(self, page: GuestPage) -> list[dict[str, Any]]:
        """The page's records: guest-parsed, or the host-held page."""
        if page.records is not None:
            return page.records
        assert page.host_page is not None
        return list(self.host.pages[page.host_page])

    def all_records(self, operation: str, params: Mapping[str, Any], max_pages: int = 50) -> list[Any]:
        """Follow ``next`` through every page, like the sandbox's iter_pages."""
        out: list[Any] = []
        token: str | None = None
        for _ in range(max_pages):
            page = self.call(operation, {**params, "_next": token})
            out.extend(self.records(page))
            token = page.next
            if token is None:
                return out
        raise AssertionError(f"{operation}: more than {max_pages} pages")


def make_bindings(target: Path) -> Path:
    """Generate the real componentize-py bindings of the connector world into ``target``."""
    exe = Path(sys.executable).with_name("componentize-py")
    subprocess.run([str(exe), "-d", str(WIT), "-w", "connector", "bindings", str(target)], check=True,
                   capture_output=True)
    return target


@contextmanager
def load_guest(
    files: Mapping[str, str], entry: str, bindings: Path, workdir: Path, responder: Responder
) -> Iterator[LoadedGuest]:
    """Import the guest files natively with the recording host; clean sys.modules and sys.path after."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (workdir / name).write_text(text, encoding="utf-8")
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    sys.path[:0] = [str(workdir), str(bindings)]
    try:
        host_module = importlib.import_module("wit_world.imports.host")
        recorder = RecordingHost(host_module, responder)
        host_module.send = recorder.send  # type: ignore[attr-defined]
        host_module.fetch_json_records = recorder.fetch_json_records  # type: ignore[attr-defined]
        host_module.log = recorder.log  # type: ignore[attr-defined]
        guest = importlib.import_module(entry)
        err_type = importlib.import_module("componentize_py_types").Err
        yield LoadedGuest(world=guest.WitWorld(), host=recorder, err_type=err_type)
    finally:
        for name in set(sys.modules) - saved_modules:
            del sys.modules[name]
        sys.path[:] = saved_path


def json_pages(pages: list[tuple[int, Any]]) -> Responder:
    """A responder answering the given (status, body) pairs in order, then 404."""
    queue = list(pages)

    def respond(_request: Recorded) -> tuple[int, Any]:
        return queue.pop(0) if queue else (404, {"error": {"code": "NotFound", "message": "no more pages"}})

    return respond


def _string_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _string_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_string_keys(v) for v in node]
    return node


class SpecValidator:
    """Validates recorded requests against the source OpenAPI document with openapi-core."""

    def __init__(self, path: Path) -> None:
        import warnings

        from openapi_core import Config, OpenAPI

        from sdk_builder._documents import decode

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = decode(path.read_bytes(), path.name).data
        self.api = OpenAPI.from_dict(_string_keys(document), config=Config(spec_validator_cls=None))

    def validate(self, request: Recorded, base_url: str, host_headers: Mapping[str, str]) -> Any:
        """Unmarshal the request as the server would see it (host headers added); raise on any error."""
        import warnings

        from openapi_core.testing import MockRequest
        from werkzeug.datastructures import ImmutableMultiDict

        parts = urlsplit(request.absolute(base_url))
        headers = {**dict(request.headers), **host_headers}
        mock = MockRequest(
            f"{parts.scheme}://{parts.netloc}", request.method.lower(), parts.path,
            args=ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True)), headers=headers,
            data=request.body.encode() if request.body is not None else None,
            content_type=headers.get("Content-Type", "application/json"),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openapi-core warns about oauth2 schemes it cannot check
            result = self.api.unmarshal_request(mock)
        if result.errors:
            raise AssertionError(f"{request.method} {request.url}: {result.errors!r}")
        return result


@contextmanager
def import_facade(source: str, workdir: Path, name: str = "erp_sdk_facade") -> Iterator[Any]:
    """Import a generated facade as a real module (pydantic resolves annotations through sys.modules)."""
    import importlib.util

    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]
