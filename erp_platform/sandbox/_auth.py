"""Credentials the host attaches to requests, by auth scheme (the guest never sees them)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from erp_platform._errors import CredentialError, NotFoundError
from erp_platform.sandbox._manifest import AuthScheme, SdkManifest
from erp_platform.sandbox._services import SecretProvider


@dataclass(frozen=True)
class Credentials:
    """Headers and query parameters to add to one request, and the secret values they contain."""

    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    secrets: frozenset[str] = field(default_factory=frozenset)


class CredentialAttacher:
    """Builds :class:`Credentials` from the manifest's auth config and required headers."""

    def __init__(self, manifest: SdkManifest, secrets: SecretProvider) -> None:
        self._manifest = manifest
        self._secrets = secrets
        self._cache: Credentials | None = None

    @property
    def needed(self) -> bool:
        """True when the SDK sends any credential (its auth scheme or a required header from the store)."""
        return self._manifest.auth.scheme is not AuthScheme.NONE or any(
            h.credential is not None for h in self._manifest.required_headers
        )

    def attached(self) -> frozenset[str]:
        """The secret values read for this session so far (empty before the first credentialed request)."""
        return self._cache.secrets if self._cache is not None else frozenset()

    def constant_headers(self) -> tuple[tuple[str, str], ...]:
        """Required headers with a constant (non-secret) value: sent on every request."""
        return tuple(
            (h.name, h.value) for h in self._manifest.required_headers if h.credential is None and h.value
        )

    def credentials(self) -> Credentials:
        """Read the secrets once per session and return what to attach to credentialed requests.

        Raises:
            CredentialError: a credential is missing in the tenant's store (the message names it).
        """
        if self._cache is None:
            self._cache = self._build()
        return self._cache

    def _secret(self, name: str | None, what: str) -> str:
        if not name:
            raise CredentialError(
                f"SDK {self._manifest.sdk_name!r} v{self._manifest.sdk_version}: auth scheme needs {what} "
                "but the manifest names no credential for it; fix the SDK manifest"
            )
        try:
            value = self._secrets(name)
        except CredentialError:
            raise
        except NotFoundError:
            m = self._manifest
            raise CredentialError(
                f"credential {name!r} of SDK {m.sdk_name!r} of tenant {m.tenant!r} is not set; v{m.sdk_version} "
                f"sends it as {what}: set it with "
                f"`printf %s VALUE | erp credentials set {m.tenant} {name} --sdk {m.sdk_name}`"
            ) from None
        except Exception as exc:
            raise CredentialError(
                f"credential {name!r} of tenant {self._manifest.tenant!r} could not be read "
                f"({type(exc).__name__})"
            ) from None
        if not value:
            raise CredentialError(f"credential {name!r} of tenant {self._manifest.tenant!r} is empty")
        if not (value.isascii() and value.isprintable()):
            m = self._manifest
            raise CredentialError(
                f"credential {name!r} of SDK {m.sdk_name!r} of tenant {m.tenant!r} contains a control or "
                f"non-ASCII character and cannot be sent as {what} (HTTP carries printable ASCII only): set it "
                f"again with `printf %s VALUE | erp credentials set {m.tenant} {name} --sdk {m.sdk_name}`"
            )
        return value

    def _build(self) -> Credentials:
        auth = self._manifest.auth
        headers: list[tuple[str, str]] = []
        query: list[tuple[str, str]] = []
        used: set[str] = set()
        if auth.scheme is AuthScheme.BEARER:
            token = self._secret(auth.credential, "a token")
            headers.append(("Authorization", f"Bearer {token}"))
            used.add(token)
        elif auth.scheme is AuthScheme.API_KEY_HEADER:
            key = self._secret(auth.credential, "an API key")
            headers.append((auth.header_name or "X-API-Key", key))
            used.add(key)
        elif auth.scheme is AuthScheme.API_KEY_QUERY:
            key = self._secret(auth.credential, "an API key")
            query.append((auth.param_name or "api_key", key))
            used.add(key)
        elif auth.scheme is AuthScheme.BASIC:
            user = self._secret(auth.username_credential, "a user name")
            password = self._secret(auth.credential, "a password")
            encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers.append(("Authorization", f"Basic {encoded}"))
            used.update({password, encoded})
        for header in self._manifest.required_headers:
            if header.credential is not None:
                value = self._secret(header.credential, f"header {header.name!r}")
                headers.append((header.name, value))
                used.add(value)
        return Credentials(headers=tuple(headers), query=tuple(query), secrets=frozenset(used))
