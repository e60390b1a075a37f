"""The credentials an SDK needs, derived from its auth scheme and the headers the ERP requires."""

from __future__ import annotations

from collections.abc import Mapping

from erp_platform.sandbox._manifest import AuthConfig, AuthScheme, HeaderSource
from sdk_builder._model import CredentialLocation, CredentialRequirement


def credential_requirements(
    auth: AuthConfig,
    headers: tuple[HeaderSource, ...],
    *,
    auth_purpose: str = "",
    header_purposes: Mapping[str, str] | None = None,
) -> tuple[CredentialRequirement, ...]:
    """One requirement per credential the host reads for this SDK, in a stable order."""
    found: list[CredentialRequirement] = []
    scheme_note = f" ({auth_purpose})" if auth_purpose else ""
    if auth.scheme == AuthScheme.BEARER and auth.credential:
        found.append(CredentialRequirement(
            name=auth.credential, location=CredentialLocation.AUTH, wire_name="Authorization: Bearer",
            purpose=f"access token sent as a bearer token{scheme_note}"))
    elif auth.scheme == AuthScheme.BASIC and auth.credential:
        if auth.username_credential:
            found.append(CredentialRequirement(
                name=auth.username_credential, location=CredentialLocation.AUTH, wire_name="Authorization: Basic",
                purpose=f"user name of HTTP basic auth{scheme_note}"))
        found.append(CredentialRequirement(
            name=auth.credential, location=CredentialLocation.AUTH, wire_name="Authorization: Basic",
            purpose=f"password of HTTP basic auth{scheme_note}"))
    elif auth.scheme == AuthScheme.API_KEY_HEADER and auth.credential and auth.header_name:
        found.append(CredentialRequirement(
            name=auth.credential, location=CredentialLocation.HEADER, wire_name=auth.header_name,
            purpose=f"API key in the {auth.header_name} header{scheme_note}"))
    elif auth.scheme == AuthScheme.API_KEY_QUERY and auth.credential and auth.param_name:
        found.append(CredentialRequirement(
            name=auth.credential, location=CredentialLocation.QUERY, wire_name=auth.param_name,
            purpose=f"API key in the {auth.param_name} query parameter{scheme_note}"))
    purposes = header_purposes or {}
    for header in headers:
        if header.credential is None:
            continue
        purpose = purposes.get(header.name.lower()) or "required on every request"
        found.append(CredentialRequirement(
            name=header.credential, location=CredentialLocation.HEADER, wire_name=header.name,
            purpose=f"value of the {header.name} header: {purpose}"))
    unique: dict[str, CredentialRequirement] = {}
    for requirement in found:
        unique.setdefault(requirement.name, requirement)
    return tuple(unique.values())
