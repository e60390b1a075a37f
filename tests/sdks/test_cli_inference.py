"""`erp sdk build | show | check` on a real published spec (Xero Accounting) served by Prism, through the real CLI:
the decisions summary with evidence, overrides, identical rebuilds, sandbox hosts, and live checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import ErpCli
from tests.support.corpus import CorpusSpec, load_corpus
from tests.support.prism import PrismPool, PrismServer

pytestmark = pytest.mark.slow

XERO = load_corpus().get("xero_accounting")
AKENEO = load_corpus().get("akeneo")


@pytest.fixture(scope="module")
def xero_server(prism_pool: PrismPool) -> PrismServer:
    return prism_pool.get(XERO)


@pytest.fixture(scope="module")
def xero_tenant(cli: ErpCli, new_tenant: Callable[..., str], xero_server: PrismServer) -> str:
    tenant = new_tenant("xero")
    allowed = cli("tenant", "allow-egress", tenant, xero_server.host_port)
    assert allowed.code == 0, allowed.stderr
    return tenant


def build(cli: ErpCli, tenant: str, spec: CorpusSpec, *args: str) -> tuple[int, str, str]:
    result = cli("sdk", "build", tenant, "--spec", str(spec.file), "--name", "xero", *args, timeout=900)
    return result.code, result.stdout, result.stderr


def test_build_prints_decisions_with_evidence_base_url_credentials_and_what_was_tested(
    cli: ErpCli, xero_tenant: str, xero_server: PrismServer,
) -> None:
    code, out, err = build(cli, xero_tenant, XERO, "--base-url", xero_server.url)
    assert code == 0, err
    lines = out.splitlines()
    assert f"base URL: {xero_server.url} (--base-url)" in lines
    assert ("credentials the SDK needs, bound to SDK xero (set each before activating; only this SDK sends them, "
            f"to {xero_server.url.rstrip('/')} only):") in lines
    assert "  token: auth Authorization: Bearer - access token sent as a bearer token (security scheme `OAuth2` " \
           "(oauth2))" in lines
    assert f'      printf %s "$VALUE" | erp credentials set {xero_tenant} xero_tenant_id --sdk xero' in lines
    assert (
        "tests: 40 GET operations ran through the WebAssembly SDK against sample responses built from the spec; no "
        f"live call to the ERP was made (check one with `erp sdk check {xero_tenant} xero [OPERATION]`)"
    ) in lines
    row = next(line for line in lines if line.startswith("  get_contacts "))
    assert row.split() == ["get_contacts", "Contacts", "page(page,", "100/page)", "ContactID", "header",
                           "If-Modified-Since", "->", "UpdatedDateUTC"]
    evidence = lines[lines.index(row) + 1: lines.index(row) + 5]
    assert evidence == [
        "      selector: response property `Contacts` (array of Contact): named like the resource `Contacts`",
        "      paging: page number `page` only: the server sets the page size (100 per page, from the description); "
        "stops on a short or empty page",
        "      key: item GET `Contacts/{ContactID}` path parameter `{ContactID}` -> `ContactID`",
        "      incremental: header parameter `If-Modified-Since`; change field `UpdatedDateUTC`",
    ]

    again = cli("sdk", "build", xero_tenant, "--spec", str(XERO.file), "--name", "xero", "--base-url",
                xero_server.url, "--json", timeout=900)
    assert again.code == 0, again.stderr
    info = again.json()
    assert (info["version"], info["unchanged"]) == (1, True)
    contacts = next(d for d in info["decisions"] if d["operation"] == "get_contacts")
    assert contacts["primary_key"] == ["ContactID"] and contacts["selector"] == "Contacts"
    assert contacts["evidence"]["incremental"]["source"] == "spec"
    human = cli("sdk", "build", xero_tenant, "--spec", str(XERO.file), "--name", "xero", "--base-url",
                xero_server.url, timeout=900)
    assert human.stdout.splitlines()[len(human.stdout.splitlines()) - len(lines):][0] != ""
    assert "unchanged: version 1 was built from the same spec and options (TESTING); nothing registered" in \
        human.stdout.splitlines()

    shown = cli("sdk", "show", xero_tenant, "xero", "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["decisions"] == info["decisions"] and shown.json()["credentials"] == info["credentials"]


def test_overrides_are_recorded_in_a_new_version_and_bad_ones_are_refused(
    cli: ErpCli, xero_tenant: str, xero_server: PrismServer, tmp_path: Path,
) -> None:
    override = tmp_path / "override.yaml"
    override.write_text("operations:\n  get_contacts:\n    primary_key: [Name]\n    incremental: null\n")
    result = cli("sdk", "build", xero_tenant, "--spec", str(XERO.file), "--name", "xero", "--base-url",
                 xero_server.url, "--override", str(override), "--set", "get_accounts.paging.style=page",
                 "--set", "get_accounts.paging.position_param=page", "--json", timeout=900)
    assert result.code == 0, result.stderr
    info = result.json()
    assert info["version"] >= 2 and info["unchanged"] is False
    assert info["overrides"] == [
        "get_contacts.primary_key=Name", "get_contacts.incremental=none", "get_accounts.paging.position_param=page",
        "get_accounts.paging.style=page",
    ]
    contacts = next(d for d in info["decisions"] if d["operation"] == "get_contacts")
    assert contacts["primary_key"] == ["Name"] and contacts["incremental"] is None
    assert contacts["evidence"]["primary_key"] == {"source": "override", "evidence": "override: Name"}


BAD_OVERRIDES = [
    (["--set", "get_contactz.primary_key=ContactID"],
     "error: override for unknown operation 'get_contactz': did you mean get_contact, get_contacts, "
     "get_contact_group?"),
    (["--set", "get_contacts.primary_key=ContactId"],
     "error: override get_contacts.primary_key: field 'ContactId' is not a field of the records of "
     "'get_contacts' (fields: AccountNumber, AccountsPayableTaxType, AccountsReceivableTaxType, Addresses, "
     "Attachments, Balances, BankAccountDetails, BatchPayments, BrandingTheme, ContactGroups, ContactID, "
     "ContactNumber, ContactPersons, ContactStatus, DefaultCurrency, Discount, EmailAddress, FirstName, "
     "HasAttachments, HasValidationErrors, IsCustomer, IsSupplier, LastName, Name, PaymentTerms, Phones, "
     "PurchasesDefaultAccountCode, PurchasesTrackingCategories, SalesDefaultAccountCode, SalesTrackingCategories, "
     "SkypeUserName, StatusAttributeString, TaxNumber, TrackingCategoryName, TrackingCategoryOption, "
     "UpdatedDateUTC, ValidationErrors, Website, XeroNetworkKey)"),
    (["--set", "get_contacts.selector=Contacts"],
     "error: --set 'get_contacts.selector=Contacts': unknown field 'selector'; use record_path, primary_key, "
     "paging.<name> or incremental.<name> (or incremental=none)"),
    (["--set", "get_contacts.paging.style=pages"],
     "error: --set: operations.get_contacts.paging.style: Input should be 'odata_next_link', 'odata_skip', "
     "'page', 'offset_limit', 'cursor' or 'none' (got 'pages')"),
    (["--set", "create_contacts.primary_key=ContactID"],
     "error: override for 'create_contacts': it is a PUT operation; paging, primary_key and incremental apply to "
     "GET list operations only"),
]


@pytest.mark.parametrize(("args", "message"), BAD_OVERRIDES, ids=[a[1] for a, _ in BAD_OVERRIDES])
def test_bad_overrides_exit_2_and_register_nothing(
    cli: ErpCli, new_tenant: Callable[..., str], xero_server: PrismServer, args: list[str], message: str,
) -> None:
    tenant = new_tenant("badov")
    result = cli("sdk", "build", tenant, "--spec", str(XERO.file), "--base-url", xero_server.url, *args,
                 timeout=900)
    assert (result.code, result.stderr.strip()) == (2, message)
    assert cli("sdk", "list", tenant, "--json").json() == []


def test_a_spec_whose_only_server_is_a_demo_host_needs_base_url(cli: ErpCli, new_tenant: Callable[..., str]) -> None:
    tenant = new_tenant("demo")
    result = cli("sdk", "build", tenant, "--spec", str(AKENEO.file))
    assert result.code == 2
    assert result.stderr.strip() == (
        "error: akeneo.com.json: the spec's servers (http://demo.akeneo.com) name only a sandbox, demo or staging "
        "host, not your ERP. Pass the ERP's real address with --base-url https://<erp-host>/"
    )
    assert cli("sdk", "list", tenant, "--json").json() == []


def test_check_makes_one_live_call_and_reports_records_selector_and_problems(
    cli: ErpCli, xero_tenant: str, xero_server: PrismServer, new_tenant: Callable[..., str],
) -> None:
    built = cli("sdk", "build", xero_tenant, "--spec", str(XERO.file), "--name", "xero", "--base-url",
                xero_server.url, "--json", timeout=900)
    assert built.code == 0, built.stderr
    missing = cli("sdk", "check", xero_tenant, "xero", "get_contacts", "--version", "1")
    assert missing.code == 1
    assert f"  problem: credential 'token' (access token sent as a bearer token (security scheme `OAuth2` (oauth2))) " \
           f'is not set: printf %s "$VALUE" | erp credentials set {xero_tenant} token --sdk xero' \
           in missing.stdout.splitlines()
    before = len(xero_server.received())
    assert before >= 0
    for name, value in (("token", "check-token"), ("xero_tenant_id", XERO.headers["xero-tenant-id"])):
        assert cli("credentials", "set", xero_tenant, name, "--sdk", "xero", input=value).code == 0
    checked = cli("sdk", "check", xero_tenant, "xero", "get_contacts", "--version", "1", "--json")
    assert checked.code == 0, checked.stdout + checked.stderr
    report = checked.json()
    assert (report["operation"], report["selector"], report["records"], report["status"]) == (
        "get_contacts", "Contacts", 1, 200)
    assert report["next"] == "none (last page)" and report["problems"] == [] and "ContactID" in report["fields"]
    assert [r for r in xero_server.received()[before:] if r[1] == "/Contacts"] == [("GET", "/Contacts")]
    human = cli("sdk", "check", xero_tenant, "xero", "get_contacts", "--version", "1")
    assert human.stdout.splitlines()[0] == f"live check of get_contacts (SDK xero v1 of tenant {xero_tenant})"
    assert "  result: ok" in human.stdout.splitlines()

    other = new_tenant("nosee")
    isolated = cli("sdk", "check", other, "xero", "get_contacts")
    assert isolated.code == 2
    assert isolated.stderr.strip() == (
        f"error: SDK 'xero' of tenant {other!r} does not exist (its SDKs: none); build it with "
        f"`erp sdk build {other} --spec FILE`"
    )
    post = cli("sdk", "check", xero_tenant, "xero", "create_contacts", "--version", "1")
    assert (post.code, post.stderr.strip()) == (
        2, "error: operation 'create_contacts' is a PUT: `erp sdk check` makes read-only calls only (GET)")
