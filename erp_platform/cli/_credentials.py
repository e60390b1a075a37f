"""``erp credentials ...``: secrets per tenant. Values are read from standard input, never from argv."""

from __future__ import annotations

import sys

import typer

from erp_platform._errors import InvalidInputError
from erp_platform.cli._app import app
from erp_platform.cli._output import console, platform, print_json, print_table

credentials_app = typer.Typer(help="Store, list, rotate and delete tenant credentials.", no_args_is_help=True)
app.add_typer(credentials_app, name="credentials")

JSON = typer.Option(False, "--json", help="print the result as JSON")
SDK = typer.Option(None, "--sdk", help="the SDK the credential is bound to: only that SDK reads and sends it")


def _require_sdk(tenant: str, name: str, sdk: str | None, verb: str) -> str:
    """The ``--sdk`` value; without one, refuse with the command that names it (nothing is read or stored)."""
    if sdk:
        return sdk
    raise InvalidInputError(
        f"credential {name} of tenant {tenant}: add --sdk SDK to {verb} it. Credentials are bound to the SDK "
        "that sends them, and no other SDK of the tenant reads them: "
        f"`printf %s VALUE | erp credentials {verb} {tenant} {name} --sdk SDK` (`erp sdk list {tenant}` lists the "
        f"SDKs; `erp sdk show {tenant} SDK` lists the credentials each asks for)"
    )


def _read_secret(prompt: str) -> str:
    """Read one secret from standard input (a terminal gets a hidden prompt); strip one trailing newline."""
    if sys.stdin.isatty():
        value = typer.prompt(prompt, hide_input=True)
        return str(value)
    try:
        data = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{prompt}: standard input is not UTF-8 text (byte {exc.start + 1} cannot be decoded); pass the "
            "secret as ASCII text, e.g. `printf %s VALUE | erp credentials set ...`"
        ) from None
    if data.endswith("\r\n"):
        data = data[:-2]
    elif data.endswith("\n"):
        data = data[:-1]
    return data


def _scope(info_sdk: str | None) -> str:
    return info_sdk if info_sdk is not None else "(tenant-wide, sent by no SDK)"


@credentials_app.command("set")
def set_(tenant: str, name: str, sdk: str | None = SDK, as_json: bool = JSON) -> None:
    """Create or replace credential NAME of SDK --sdk of TENANT; the secret is read from standard input."""
    scope = _require_sdk(tenant, name, sdk, "set")
    secret = _read_secret(f"secret for {tenant}/{scope}/{name}")
    with platform() as plat:
        info = plat.credentials.set(tenant, name, secret, sdk=scope)
    if as_json:
        print_json(info)
    else:
        console.print(
            f"stored credential {name} of SDK {scope} for tenant {tenant} (version {info.version}, {info.store}); "
            f"only SDK {scope} sends it"
        )


@credentials_app.command("rotate")
def rotate(tenant: str, name: str, sdk: str | None = SDK, as_json: bool = JSON) -> None:
    """Replace the value of an existing credential; the new secret is read from standard input."""
    scope = _require_sdk(tenant, name, sdk, "rotate")
    secret = _read_secret(f"new secret for {tenant}/{scope}/{name}")
    with platform() as plat:
        info = plat.credentials.rotate(tenant, name, secret, sdk=scope)
    if as_json:
        print_json(info)
    else:
        console.print(f"rotated credential {name} of SDK {scope} for tenant {tenant} (version {info.version})")


@credentials_app.command("grant")
def grant(
    tenant: str,
    name: str,
    sdk: str | None = SDK,
    from_sdk: str | None = typer.Option(
        None, "--from-sdk", help="copy the credential of this SDK (default: the tenant-wide one)"
    ),
    as_json: bool = JSON,
) -> None:
    """Bind a copy of an existing credential to SDK --sdk (audited): a tenant-wide one, or another SDK's."""
    scope = _require_sdk(tenant, name, sdk, "grant")
    with platform() as plat:
        info = plat.credentials.grant(tenant, name, sdk=scope, from_sdk=from_sdk)
    if as_json:
        print_json(info)
    else:
        source = f"SDK {from_sdk}" if from_sdk else "the tenant-wide credential"
        console.print(
            f"granted credential {name} of tenant {tenant} to SDK {scope} (copied from {source}, version "
            f"{info.version})"
        )


@credentials_app.command("list")
def list_(tenant: str, sdk: str | None = typer.Option(None, "--sdk", help="only this SDK's credentials"),
          as_json: bool = JSON) -> None:
    """List credential names per SDK with their store and rotation times (never the values)."""
    with platform() as plat:
        infos = plat.credentials.list(tenant, sdk=sdk)
    if as_json:
        print_json(infos)
        return
    print_table(f"credentials of {tenant}", ["sdk", "name", "store", "version", "created", "rotated"],
                [[_scope(i.sdk), i.name, i.store, i.version, i.created_at.isoformat(timespec="seconds"),
                  i.rotated_at.isoformat(timespec="seconds")] for i in infos])
    if any(i.sdk is None for i in infos):
        console.print(
            f"tenant-wide credentials are sent by no SDK: bind each to the SDK that needs it with `erp credentials "
            f"grant {tenant} NAME --sdk SDK`, or delete it with `erp credentials delete {tenant} NAME --tenant-wide "
            "--yes`"
        )


@credentials_app.command("delete")
def delete(
    tenant: str,
    name: str,
    sdk: str | None = SDK,
    tenant_wide: bool = typer.Option(False, "--tenant-wide", help="delete the tenant-wide credential NAME"),
    yes: bool = typer.Option(False, "--yes", help="confirm"),
) -> None:
    """Delete a credential of one SDK (that SDK stops authenticating), or a tenant-wide one."""
    if tenant_wide == bool(sdk):
        raise InvalidInputError(
            f"credential {name} of tenant {tenant}: name the SDK it is bound to with --sdk SDK, or pass "
            "--tenant-wide for a tenant-wide one (`erp credentials list "
            f"{tenant}` shows which)"
        )
    if not yes:
        raise InvalidInputError(f"deleting credential {name} of tenant {tenant} cannot be undone: add --yes")
    with platform() as plat:
        plat.credentials.delete(tenant, name, sdk=sdk or None)
    console.print(f"deleted credential {name} of {'SDK ' + sdk if sdk else 'no SDK (tenant-wide)'} of tenant {tenant}")


@credentials_app.command("vault-policy")
def vault_policy(tenant: str, sdk: str | None = typer.Option(
    None, "--sdk", help="confine the token to this SDK's credentials"
)) -> None:
    """Print the Vault policy (HCL) that confines a token to TENANT's (or one SDK's) credential path."""
    from erp_platform.credentials import vault_policy as render
    from erp_platform.db import validate_slug

    with platform(initialised=False) as plat:
        print(render(validate_slug(tenant), mount=plat.settings.vault_mount, sdk=sdk))
