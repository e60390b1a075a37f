"""``load_spec``: read a spec file or bytes, detect its format, build the SdkSpec."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from erp_platform._errors import InvalidInputError
from erp_platform.sandbox._headers import host_owned_reason
from sdk_builder._documents import decode, not_a_spec
from sdk_builder._edmx import EdmxBuilder
from sdk_builder._errors import SpecError
from sdk_builder._limits import SpecLimits
from sdk_builder._model import ParsedSpec, SourceFormat
from sdk_builder._openapi import BuildOptions, OpenApiBuilder
from sdk_builder._overrides import SdkOverrides, apply_overrides
from sdk_builder._swagger2 import swagger_to_openapi

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SDK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _options(
    filename: str,
    base_url: str | None,
    name: str | None,
    headers: Mapping[str, str] | None,
    auth_scheme: str | None,
    *,
    overrides: SdkOverrides | None = None,
) -> BuildOptions:
    if name is not None and not _SDK_NAME.match(name):
        raise InvalidInputError(
            f"SDK name {name!r} is invalid: use 1-63 characters a-z, 0-9 and '_', starting with a letter "
            "(e.g. 'business_central')."
        )
    pairs: list[tuple[str, str]] = []
    for header, value in (headers or {}).items():
        if not _HEADER_NAME.match(header):
            raise InvalidInputError(
                f"header name {header!r} is invalid: use letters, digits and '-' (e.g. 'X-ERP-Tenant')."
            )
        why = host_owned_reason(header, cookie_declared=True)
        if why is not None:
            raise InvalidInputError(
                f"--header {header!r} is refused: {why}. Set only headers the ERP itself requires, "
                "e.g. --header X-ERP-Tenant=acme."
            )
        if any(ch in value for ch in "\r\n\0"):
            raise InvalidInputError(f"value of header {header!r} contains a line break or NUL: remove it.")
        pairs.append((header, value))
    return BuildOptions(
        filename=filename, base_url=base_url, name=name, headers=tuple(pairs), auth_scheme=auth_scheme,
        overrides="" if overrides is None or overrides.empty else overrides.canonical(),
    )


def spec_hash(raw: bytes, options: BuildOptions) -> str:
    """sha256 of the raw spec bytes plus the build options (everything that shapes the generated SDK)."""
    digest = hashlib.sha256(raw)
    digest.update(b"\0")
    described: dict[str, object] = {
        "filename": options.filename,
        "base_url": options.base_url,
        "name": options.name,
        "headers": [list(pair) for pair in options.headers],
        "auth_scheme": options.auth_scheme,
    }
    if options.overrides:
        described["overrides"] = options.overrides
    digest.update(json.dumps(described, sort_keys=True).encode())
    return digest.hexdigest()


def load_spec(
    source: str | os.PathLike[str] | bytes,
    *,
    filename: str | None = None,
    base_url: str | None = None,
    name: str | None = None,
    headers: Mapping[str, str] | None = None,
    auth_scheme: str | None = None,
    overrides: SdkOverrides | None = None,
    limits: SpecLimits | None = None,
) -> ParsedSpec:
    """Parse an OpenAPI 3.x / Swagger 2.0 (YAML or JSON) or OData V2/V4 EDMX spec into an SdkSpec.

    Args:
        source: a path, or the raw bytes of the document.
        filename: name used in messages and for the default SDK name (required sense for bytes).
        base_url: the ERP's base URL (service root); overrides the spec's servers, required for EDMX.
        name: SDK name (snake_case); defaults to the file name's stem.
        headers: constant values of headers the ERP requires on every request (e.g. a tenant header);
            required header parameters not given here become host-supplied credentials.
        auth_scheme: which security scheme to use (OpenAPI: a securitySchemes name; EDMX: bearer|basic|none).
        overrides: the operator's per-operation overrides (:func:`sdk_builder.parse_overrides`); part of the
            spec hash, applied after inference.
        limits: bounds on the spec's size, nesting and ``$ref`` expansion (default:
            :meth:`SpecLimits.from_env`, the ``ERP_SPEC_*`` settings).

    Returns:
        The :class:`ParsedSpec`: the SdkSpec, the operations skipped with reasons, and warnings.

    Raises:
        SpecError: the document cannot be parsed or builds no operation at all.
        SpecLimitExceeded: the document exceeds a limit (the message names it and its setting).
        InvalidInputError: an option is invalid.

    Example:
        >>> parsed = load_spec("specs/odata/service.v4.edmx", base_url="https://erp.example.com/odata/")
    """
    if isinstance(source, bytes):
        raw, shown = source, filename or "spec"
    else:
        path = Path(source)
        shown = filename or path.name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SpecError(
                f"cannot read the spec file ({exc.strerror or exc}). Check the path.", filename=str(path)
            ) from None
    options = _options(shown, base_url, name, headers, auth_scheme, overrides=overrides)
    digest = spec_hash(raw, options)
    parsed = _parse(raw, shown, options, digest, limits or SpecLimits.from_env())
    return apply_overrides(parsed, overrides) if overrides is not None else parsed


def _parse(raw: bytes, shown: str, options: BuildOptions, digest: str, limits: SpecLimits) -> ParsedSpec:
    document = decode(raw, shown, limits)
    if document.xml is not None:
        edmx = EdmxBuilder(document.xml, options=options, spec_hash=digest, warnings=document.warnings)
        return edmx.build()
    data = document.data or {}
    if "openapi" in data:
        version = str(data["openapi"])
        if not version.startswith("3."):
            raise SpecError(
                f"unsupported OpenAPI version {version!r}: supported are OpenAPI 3.0, 3.1 and Swagger 2.0. "
                "Convert the spec to OpenAPI 3 first.",
                filename=shown,
            )
        builder = OpenApiBuilder(
            data, fmt=SourceFormat.OPENAPI_3, options=options, spec_hash=digest, warnings=document.warnings,
            limits=limits,
        )
        return builder.build()
    if "swagger" in data:
        version = str(data["swagger"])
        if version != "2.0":
            raise SpecError(
                f"unsupported Swagger version {version!r}: supported are OpenAPI 3.0, 3.1 and Swagger 2.0. "
                "Convert the spec to OpenAPI 3 first.",
                filename=shown,
            )
        converted = swagger_to_openapi(data)
        builder = OpenApiBuilder(
            converted,
            fmt=SourceFormat.SWAGGER_2,
            options=options,
            spec_hash=digest,
            warnings=document.warnings,
            limits=limits,
        )
        return builder.build()
    raise not_a_spec(shown)
