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


def _read_secret(prompt: str) -> str:
    """Read one secret from standard input (a terminal gets a hidden prompt); strip one trailing newline."""
    if sys.stdin.isatty():
        value = typer.prompt(prompt, hide_input=True)
        return str(value)
    data = sys.stdin.read()
    if data.endswith("\r\n"):
        data = data[:-2]
    elif data.endswith("\n"):
        data = data[:-1]
    return data


@credentials_app.command("set")
def set_(tenant: str, name: str, as_json: bool = JSON) -> None:
    """Create or replace credential NAME of TENANT; the secret is read from standard input."""
    secret = _read_secret(f"secret for {tenant}/{name}")
    with platform() as plat:
        info = plat.credentials.set(tenant, name, secret)
    if as_json:
        print_json(info)
    else:
        console.print(f"stored credential {name} for tenant {tenant} (version {info.version}, {info.store})")


@credentials_app.command("rotate")
def rotate(tenant: str, name: str, as_json: bool = JSON) -> None:
    """Replace the value of an existing credential; the new secret is read from standard input."""
    secret = _read_secret(f"new secret for {tenant}/{name}")
    with platform() as plat:
        info = plat.credentials.rotate(tenant, name, secret)
    if as_json:
        print_json(info)
    else:
        console.print(f"rotated credential {name} for tenant {tenant} (version {info.version})")


@credentials_app.command("list")
def list_(tenant: str, as_json: bool = JSON) -> None:
    """List credential names with their store and rotation times (never the values)."""
    with platform() as plat:
        infos = plat.credentials.list(tenant)
    if as_json:
        print_json(infos)
        return
    print_table(f"credentials of {tenant}", ["name", "store", "version", "created", "rotated"],
                [[i.name, i.store, i.version, i.created_at.isoformat(timespec="seconds"),
                  i.rotated_at.isoformat(timespec="seconds")] for i in infos])


@credentials_app.command("delete")
def delete(tenant: str, name: str, yes: bool = typer.Option(False, "--yes", help="confirm")) -> None:
    """Delete a credential (SDKs that need it stop authenticating)."""
    if not yes:
        raise InvalidInputError(f"deleting credential {name} of tenant {tenant} cannot be undone: add --yes")
    with platform() as plat:
        plat.credentials.delete(tenant, name)
    console.print(f"deleted credential {name} of tenant {tenant}")


@credentials_app.command("vault-policy")
def vault_policy(tenant: str) -> None:
    """Print the Vault policy (HCL) that confines a token to TENANT's credential path."""
    from erp_platform.credentials import vault_policy as render
    from erp_platform.db import validate_slug

    with platform(initialised=False) as plat:
        print(render(validate_slug(tenant), mount=plat.settings.vault_mount))
