"""Object keys: built only from a tenant slug, so no key can leave its tenant's prefix.

``tenant_key("acme", "sdks", "erp", "v3", "module.wasm")`` is ``tenants/acme/sdks/erp/v3/module.wasm``.
Stores accept only :class:`ObjectKey` values; a plain string is refused.
"""

from __future__ import annotations

import re
from dataclasses import InitVar, dataclass

from erp_platform._errors import InvalidInputError
from erp_platform.db import validate_slug
from erp_platform.objectstore._errors import InvalidObjectKeyError

TENANTS_FOLDER = "tenants"
MAX_SEGMENT_CHARS = 255
MAX_KEY_BYTES = 1024  # S3's limit, applied to every store
_SEGMENT_RE = re.compile(r"[A-Za-z0-9._=+@,-]+")
_ALLOWED = "letters, digits and . _ - = + @ , (not starting with '.')"
_SEAL = object()


@dataclass(frozen=True, slots=True)
class ObjectKey:
    """A validated key under one tenant's prefix. Build it with :func:`tenant_key`, never directly."""

    tenant: str
    segments: tuple[str, ...]
    _seal: InitVar[object] = None

    def __post_init__(self, _seal: object) -> None:
        if _seal is not _SEAL:
            raise TypeError("ObjectKey cannot be built directly: build keys with tenant_key(slug, *parts)")

    @property
    def path(self) -> str:
        """The key as a '/'-separated path: ``tenants/<slug>/<segment>/...``."""
        return "/".join((TENANTS_FOLDER, self.tenant, *self.segments))

    @property
    def is_prefix_only(self) -> bool:
        """True for the tenant's whole prefix (``tenant_key(slug)`` with no parts): not an object."""
        return not self.segments

    def child(self, *parts: str) -> ObjectKey:
        """A key below this one, validated like :func:`tenant_key`."""
        return tenant_key(self.tenant, *self.segments, *parts)

    def __str__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"ObjectKey({self.path!r})"


def tenant_key(tenant: str, *parts: str) -> ObjectKey:
    """The one way to build an object key: ``tenants/<slug>/<part>/<part>...``.

    A part may hold several segments separated by ``/`` (``"sdks/erp"``); every segment must be
    non-empty, not ``.`` or ``..``, not start with ``.``, and use only letters, digits and ``. _ - = + @ ,``.
    Absolute paths, backslashes and control characters are refused, so no key can address another
    tenant's prefix or escape the store.

    Raises:
        InvalidInputError: a bad slug (see ``validate_slug``).
        InvalidObjectKeyError: a bad part; the message names the part and the rule.
    """
    slug = validate_slug(tenant)
    segments: list[str] = []
    for part in parts:
        segments.extend(_split_part(slug, part))
    key = ObjectKey(slug, tuple(segments), _SEAL)
    size = len(key.path.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise InvalidObjectKeyError(
            f"object key for tenant {slug!r} is {size} bytes long: at most {MAX_KEY_BYTES} bytes are "
            "allowed; use shorter parts"
        )
    return key


def tenant_prefix(tenant: str) -> ObjectKey:
    """The prefix holding every object of a tenant (``tenants/<slug>``), e.g. for ``delete_prefix``."""
    return tenant_key(tenant)


def sdk_artifact_key(tenant: str, sdk: str, version: int, *parts: str) -> ObjectKey:
    """``tenants/<tenant>/sdks/<sdk>/v<version>/<parts...>``: one SDK version's artifacts."""
    _require_single_segment(tenant, "SDK name", sdk)
    return tenant_key(tenant, "sdks", sdk, f"v{_positive(tenant, 'SDK version', version)}", *parts)


def activity_output_key(tenant: str, run_id: str, asset: str, attempt: int) -> ObjectKey:
    """``tenants/<tenant>/executions/<run_id>/activities/<asset>/attempt-<n>.parquet`` (one per attempt)."""
    _require_single_segment(tenant, "run id", run_id)
    _require_single_segment(tenant, "asset name", asset)
    n = _positive(tenant, "attempt", attempt)
    return tenant_key(tenant, "executions", run_id, "activities", asset, f"attempt-{n}.parquet")


def key_from_stored_path(path: str) -> ObjectKey | None:
    """The key of a stored path ``tenants/<slug>/...``, or None when the path is not a valid key.

    For stores only (not exported): they turn listed names back into keys and check the tenant.
    """
    head, _, rest = path.partition("/")
    slug, _, tail = rest.partition("/")
    if head != TENANTS_FOLDER or not tail:
        return None
    try:
        return tenant_key(slug, tail)
    except InvalidInputError:
        return None


def _split_part(slug: str, part: object) -> list[str]:
    where = f"invalid object key for tenant {slug!r}: part {part!r}"
    if not isinstance(part, str):
        raise InvalidObjectKeyError(f"invalid object key for tenant {slug!r}: parts must be strings "
                                    f"(received {type(part).__name__})")
    if part == "":
        raise InvalidObjectKeyError(f"{where} is empty: every part needs at least one character")
    for ch in part:
        if ord(ch) < 32 or ord(ch) == 127:
            raise InvalidObjectKeyError(f"{where} contains the control character {ch!r}: remove it")
    if "\\" in part:
        raise InvalidObjectKeyError(f"{where} contains a backslash: separate folders with '/' instead")
    if part.startswith("/"):
        raise InvalidObjectKeyError(
            f"{where} is an absolute path: keys are relative to the tenant's prefix; drop the leading '/'"
        )
    segments = part.split("/")
    for segment in segments:
        _check_segment(where, segment)
    return segments


def _check_segment(where: str, segment: str) -> None:
    if segment == "":
        raise InvalidObjectKeyError(f"{where} has an empty segment (a trailing '/' or '//'): remove it")
    if segment in (".", ".."):
        refers = "the current folder" if segment == "." else "the parent folder"
        raise InvalidObjectKeyError(
            f"{where} contains {segment!r}, which refers to {refers}: keys cannot leave their folder"
        )
    if segment.startswith("."):
        raise InvalidObjectKeyError(
            f"{where} has a segment starting with '.' ({segment!r}): such names are reserved for the "
            "store's temporary files"
        )
    if len(segment) > MAX_SEGMENT_CHARS:
        raise InvalidObjectKeyError(
            f"{where} has a segment of {len(segment)} characters: at most {MAX_SEGMENT_CHARS} are allowed"
        )
    if _SEGMENT_RE.fullmatch(segment) is None:
        bad = next(ch for ch in segment if _SEGMENT_RE.fullmatch(ch) is None)
        raise InvalidObjectKeyError(f"{where} contains {bad!r}, which is not allowed: use {_ALLOWED}")


def _require_single_segment(tenant: str, what: str, value: object) -> None:
    if isinstance(value, str) and "/" in value:
        raise InvalidObjectKeyError(
            f"invalid object key for tenant {tenant!r}: {what} {value!r} contains '/': it must be a "
            "single path segment"
        )


def _positive(tenant: str, what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidObjectKeyError(
            f"invalid object key for tenant {tenant!r}: {what} must be a positive integer "
            f"(received {value!r})"
        )
    return value
