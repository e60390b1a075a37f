"""``generate``: SdkSpec -> guest files + facade, scanned, with a content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from sdk_builder._codegen_facade import generate_facade
from sdk_builder._codegen_guest import ENTRY_MODULE, generate_guest
from sdk_builder._model import SdkSpec
from sdk_builder._scan import ScanProfile, ScanReport, scan
from sdk_builder._version import BUILDER_VERSION

#: File name of the facade in hashes and scan reports.
FACADE_FILE = "facade.py"


class GeneratedSdk(BaseModel):
    """Generated, scanned source code of one SDK: guest modules to compile, and the host facade."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    files: dict[str, str] = Field(description="guest modules by file name (entry module + runtime)")
    entry_module: str = Field(ENTRY_MODULE, description="module defining WitWorld, for componentize-py")
    facade: str = Field(description="host-side typed client module")
    code_hash: str = Field(description="sha256 over the sorted file names and contents, facade included")
    spec_hash: str
    builder_version: str = BUILDER_VERSION
    guest_scan: ScanReport
    facade_scan: ScanReport


def code_hash(files: Mapping[str, str]) -> str:
    """sha256 over sorted (name, content) pairs."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def generate(spec: SdkSpec) -> GeneratedSdk:
    """Generate the guest modules and the facade of ``spec``, then scan both.

    Raises:
        ScanRefused: the generated code failed the security scan (a builder defect: report it).
    """
    files = generate_guest(spec)
    facade = generate_facade(spec)
    guest_report = scan(files, profile=ScanProfile.GUEST)
    facade_report = scan({FACADE_FILE: facade}, profile=ScanProfile.FACADE)
    guest_report.raise_if_failed()
    facade_report.raise_if_failed()
    return GeneratedSdk(
        files=files,
        facade=facade,
        code_hash=code_hash({**files, FACADE_FILE: facade}),
        spec_hash=spec.spec_hash,
        guest_scan=guest_report,
        facade_scan=facade_report,
    )
