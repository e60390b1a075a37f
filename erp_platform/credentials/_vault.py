"""Credentials in HashiCorp Vault KV v2 (through ``hvac``), one path and one policy per tenant."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import hvac
import hvac.exceptions
from pydantic import SecretStr
from sqlalchemy import Connection, Engine

from erp_platform._errors import CredentialError
from erp_platform.credentials._errors import CredentialStoreUnavailableError
from erp_platform.credentials._models import StoreName
from erp_platform.credentials._store import CredentialRef, CredentialStore
from erp_platform.credentials._validation import tenant_path, validate_sdk_scope
from erp_platform.db import validate_slug

_MOUNT_RE = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
_VALUE_FIELD = "value"


def vault_policy(tenant: str, *, mount: str = "secret", sdk: str | None = None) -> str:
    """The Vault HCL policy that confines a token to one tenant's credentials (or one SDK's) in a KV v2 mount.

    It grants create/read/update/delete on ``<mount>/data/erp/tenants/<slug>/*`` and read/list/delete on
    ``<mount>/metadata/erp/tenants/<slug>/*`` and nothing else, so a token holding only this policy can
    never read or list another tenant's secrets. With ``sdk``, the paths are those of that SDK's
    credentials (``erp/tenants/<slug>/sdks/<sdk>/*``). Install it and issue a token with::

        vault policy write erp-tenant-<slug> policy.hcl
        vault token create -policy=erp-tenant-<slug>

    Example: ``vault_policy("acme")`` covers ``secret/data/erp/tenants/acme/*``, but not
    ``secret/data/erp/tenants/acme_two/...`` (the trailing slash ends the slug).
    """
    base = tenant_path(tenant)
    mount = _check_mount(mount)
    slug = validate_slug(tenant)
    label, whose = f"erp-tenant-{slug}", f'tenant "{slug}"\'s credentials'
    if sdk is not None:
        base = f"{base}/sdks/{validate_sdk_scope(sdk)}"
        label, whose = f"{label}-sdk-{sdk}", f'the credentials of SDK "{sdk}" of tenant "{slug}"'
    return (
        f'# ERP platform: confines a token to {whose} in KV v2 mount "{mount}".\n'
        f"# Install: vault policy write {label} <this file>\n"
        f"# Token:   vault token create -policy={label}\n"
        f'path "{mount}/data/{base}/*" {{\n'
        '  capabilities = ["create", "read", "update", "delete"]\n'
        "}\n"
        f'path "{mount}/metadata/{base}/*" {{\n'
        '  capabilities = ["read", "list", "delete"]\n'
        "}\n"
    )


def _check_mount(mount: str) -> str:
    mount = mount.strip("/")
    if _MOUNT_RE.fullmatch(mount) is None:
        raise CredentialError(
            f"Vault mount {mount!r} (ERP_VAULT_MOUNT) is invalid: use the KV v2 mount path, e.g. secret or "
            "kv/erp (letters, digits, '-', '_' and '/')"
        )
    return mount


class VaultStore(CredentialStore):
    """Secrets in Vault KV v2 at ``<mount>/data/erp/tenants/<slug>/<name>`` (field ``value``).

    Metadata rows and audit entries live in the platform database as for the local store; the Vault
    write happens inside the database transaction, so a refused write leaves no metadata behind.
    """

    store_name: ClassVar[StoreName] = "vault"

    def __init__(self, engine: Engine, *, addr: str, token: SecretStr, mount: str = "secret",
                 timeout: float = 10.0, client: Any = None) -> None:
        super().__init__(engine)
        self._addr = addr.rstrip("/")
        self._mount = _check_mount(mount)
        self._client: Any = client or hvac.Client(url=self._addr, token=token.get_secret_value(),
                                                  timeout=timeout)

    def __repr__(self) -> str:
        return f"VaultStore(addr={self._addr!r}, mount={self._mount!r})"

    def vault_policy(self, tenant: str) -> str:
        """The HCL policy confining a token to ``tenant``'s paths in this mount (see :func:`vault_policy`)."""
        return vault_policy(tenant, mount=self._mount)

    @property
    def _kv(self) -> Any:
        return self._client.secrets.kv.v2

    # -- backend ------------------------------------------------------------------------------------
    def _write(self, conn: Connection, ref: CredentialRef, secret: str) -> None:
        with self._mapped_errors("write", ref.path, ref):
            self._kv.create_or_update_secret(path=ref.path, secret={_VALUE_FIELD: secret},
                                             mount_point=self._mount)

    def _read(self, conn: Connection, ref: CredentialRef) -> str:
        try:
            with self._mapped_errors("read", ref.path, ref, missing_ok=False):
                response = self._kv.read_secret_version(path=ref.path, mount_point=self._mount,
                                                        raise_on_deleted_version=True)
        except _Missing:
            raise CredentialError(
                f"{ref.describe()} is recorded, but Vault has no live secret at "
                f"{self._mount}/data/{ref.path} (it was deleted in Vault outside the platform): set it again "
                f"with `{ref.set_command()}`"
            ) from None
        value = (response.get("data") or {}).get("data", {}).get(_VALUE_FIELD)
        if not isinstance(value, str):
            raise CredentialError(
                f"{ref.describe()}: the Vault secret at {self._mount}/data/{ref.path} has no text field "
                f"{_VALUE_FIELD!r} (it was written outside the platform): set it again with "
                f"`{ref.set_command()}`"
            )
        return value

    def _remove(self, conn: Connection, ref: CredentialRef) -> None:
        with self._mapped_errors("delete", ref.path, ref, missing_ok=True):
            self._kv.delete_metadata_and_all_versions(path=ref.path, mount_point=self._mount)

    def _remove_tenant(self, conn: Connection, tenant: str) -> int:
        return self._remove_folder(tenant_path(tenant))

    def _remove_folder(self, folder: str) -> int:
        try:
            with self._mapped_errors("list", folder + "/", None, missing_ok=False):
                response = self._kv.list_secrets(path=folder, mount_point=self._mount)
        except _Missing:
            return 0
        removed = 0
        for key in (response.get("data") or {}).get("keys", []):
            path = f"{folder}/{str(key).rstrip('/')}"
            if str(key).endswith("/"):
                removed += self._remove_folder(path)
                continue
            with self._mapped_errors("delete", path, None, missing_ok=True):
                self._kv.delete_metadata_and_all_versions(path=path, mount_point=self._mount)
            removed += 1
        return removed

    # -- errors -------------------------------------------------------------------------------------
    def _mapped_errors(self, op: str, path: str, ref: CredentialRef | None,
                       *, missing_ok: bool = False) -> _VaultErrors:
        return _VaultErrors(self._addr, self._mount, op, path, ref, missing_ok=missing_ok)


class _Missing(Exception):
    """Vault answered 404 for a path (internal signal, turned into a message by the caller)."""


class _VaultErrors:
    """Turns hvac and transport errors into CredentialError with what to do; never shows the token."""

    def __init__(self, addr: str, mount: str, op: str, path: str, ref: CredentialRef | None,
                 *, missing_ok: bool) -> None:
        self._addr, self._mount, self._op, self._path = addr, mount, op, path
        self._ref, self._missing_ok = ref, missing_ok

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            return False
        if isinstance(exc, hvac.exceptions.InvalidPath):
            if _no_route(exc):
                raise CredentialError(
                    f"Vault at {self._addr} has no KV v2 mount {self._mount!r} (ERP_VAULT_MOUNT): enable one "
                    f"with `vault secrets enable -path={self._mount} kv-v2`, or set ERP_VAULT_MOUNT to an "
                    "existing KV v2 mount"
                ) from exc
            if self._missing_ok:
                return True
            raise _Missing() from exc
        where = f"{self._op} of {self._mount}/data/{self._path}"
        if self._ref is not None:
            where += f" ({self._ref.describe()})"
        if isinstance(exc, hvac.exceptions.Forbidden | hvac.exceptions.Unauthorized):
            tenant = self._ref.tenant if self._ref is not None else _tenant_of(self._path)
            raise CredentialError(
                f"Vault at {self._addr} refused the {where}: permission denied. The token in "
                "ERP_VAULT_TOKEN is invalid, expired, or lacks a policy for this path: grant it the "
                f"policy from `vault_policy({tenant!r}, mount={self._mount!r})` (or a platform-wide one "
                f"on {self._mount}/data/erp/tenants/* and {self._mount}/metadata/erp/tenants/*)"
            ) from exc
        if isinstance(exc, hvac.exceptions.VaultDown | hvac.exceptions.BadGateway):
            raise CredentialStoreUnavailableError(
                f"Vault at {self._addr} is sealed or unavailable during the {where}: unseal it (`vault "
                "operator unseal`) or wait for it to come back, then retry"
            ) from exc
        if isinstance(exc, hvac.exceptions.InvalidRequest):
            raise CredentialError(
                f"Vault at {self._addr} rejected the {where} as invalid ({_errors_of(exc)}): check that "
                f"{self._mount!r} (ERP_VAULT_MOUNT) is a KV version 2 mount"
            ) from exc
        if isinstance(exc, hvac.exceptions.VaultError):
            raise CredentialError(
                f"Vault at {self._addr} failed the {where} ({type(exc).__name__}: {_errors_of(exc)}): check "
                "the Vault server's log and retry"
            ) from exc
        if isinstance(exc, OSError):  # requests' ConnectionError and Timeout are OSErrors
            raise CredentialStoreUnavailableError(
                f"cannot reach Vault at {self._addr} (ERP_VAULT_ADDR) for the {where}: "
                f"{type(exc).__name__}. Check the address and that Vault is running, then retry"
            ) from exc
        return False


def _no_route(exc: BaseException) -> bool:
    return any("no handler for route" in str(e) for e in getattr(exc, "errors", None) or [])


def _errors_of(exc: BaseException) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list) and errors:
        return "; ".join(str(e).strip().replace("\n", " ") for e in errors)
    return "no details"


def _tenant_of(path: str) -> str:
    parts = path.split("/")
    return parts[2] if len(parts) > 2 else "?"
