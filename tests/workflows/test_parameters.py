"""Declared workflow parameters: substituted at apply time, part of the content hash; every placeholder that
is not a declared parameter with a value is refused with its path, so none reaches a run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from erp_platform._errors import InvalidInputError
from erp_platform.workflows import (
    InvalidDefinitionError,
    WorkflowRegistry,
    content_hash,
    definition_payload,
    parse_definition,
    parse_param_options,
)
from tests.support.cli import ErpCli
from tests.workflows.samples import VALID, insert_sdk

PARAMETERS = """\
parameters:
  company:
    description: the tenant's company id in the ERP
"""
WITH_PARAMETER = VALID.replace("id: orders_sync\n", "id: orders_sync\n" + PARAMETERS, 1).replace(
    "company_id: c1", 'company_id: "{company}"'
)
HINT = "`erp workflow apply TENANT FILE --param {name}=VALUE`"


def parameterised(parameters: str, params_value: str = '"{company}"') -> str:
    return VALID.replace("id: orders_sync\n", "id: orders_sync\n" + parameters, 1).replace(
        "company_id: c1", f"company_id: {params_value}"
    )


def test_values_are_substituted_and_recorded() -> None:
    definition = parse_definition(WITH_PARAMETER, filename="wf.yaml", params={"company": "c7"})
    assert [a.config.params for a in definition.activities[:2]] == [{"company_id": "c7"}] * 2
    assert definition.parameters["company"].value == "c7"
    assert definition.parameters["company"].description == "the tenant's company id in the ERP"


def test_precedence_is_param_then_value_then_default() -> None:
    text = parameterised("parameters:\n  company: {default: d1, value: v1}\n")
    assert parse_definition(text, filename="wf.yaml").activities[0].config.params == {"company_id": "v1"}
    overridden = parse_definition(text, filename="wf.yaml", params={"company": "p1"})
    assert overridden.activities[0].config.params == {"company_id": "p1"}
    defaulted = parse_definition(parameterised("parameters:\n  company: {default: d1}\n"), filename="wf.yaml")
    assert defaulted.activities[0].config.params == {"company_id": "d1"}


def test_values_are_part_of_the_content_hash() -> None:
    one = parse_definition(WITH_PARAMETER, filename="wf.yaml", params={"company": "c1"})
    two = parse_definition(WITH_PARAMETER, filename="wf.yaml", params={"company": "c2"})
    assert content_hash(one) != content_hash(two)
    again = parse_definition(WITH_PARAMETER, filename="wf.yaml", params={"company": "c1"})
    assert content_hash(one) == content_hash(again)


def test_a_definition_without_parameters_hashes_as_before() -> None:
    definition = parse_definition(VALID, filename="wf.yaml")
    assert "parameters" not in definition_payload(definition)
    assert definition.parameters == {}


def test_double_braces_are_literal_and_partial_text_is_substituted() -> None:
    text = parameterised(PARAMETERS, params_value='"co-{company}-{{x}}"')
    definition = parse_definition(text, filename="wf.yaml", params={"company": "7"})
    assert definition.activities[0].config.params == {"company_id": "co-7-{x}"}


BAD = [
    ("undeclared placeholder", VALID.replace("company_id: c1", 'company_id: "{erp_tenant}"', 1), {},
     ["activities[0].config.params.company_id: {erp_tenant} is not a declared parameter: declare it "
      "(parameters: {erp_tenant: {description: ...}}) and supply a value with "
      + HINT.format(name="erp_tenant") + ", or write {{erp_tenant}} for literal braces (received: "
      "'{erp_tenant}')"]),
    ("no value and no default", WITH_PARAMETER, {},
     ["parameters.company: parameter 'company' has no default and no value was supplied: supply one with "
      + HINT.format(name="company")]),
    ("unknown --param", WITH_PARAMETER, {"company": "c1", "compnay": "c1"},
     ["--param compnay: 'compnay' is not a parameter of this workflow (declared: company); declare it under "
      "parameters or remove the --param (received: 'c1')"]),
    ("control character in a value", WITH_PARAMETER, {"company": "c1\nDROP"},
     ["--param company: the value of parameter 'company' contains a control character (line break, tab, "
      "NUL, ...): remove it (received: 'c1\\nDROP')"]),
    ("a value too long", WITH_PARAMETER, {"company": "x" * 1001},
     [f"--param company: the value of parameter 'company' is longer than 1000 characters (received: "
      f"'{'x' * 76}...)"]),
    ("bad parameter name", parameterised("parameters:\n  Company: {}\n", '"{Company}"'), {},
     ["parameters.Company: a parameter name must be a lowercase identifier: letters a-z, digits and "
      "underscores, not starting with a digit (received: 'Company')"]),
    ("parameters not a mapping", parameterised("parameters: [company]\n", "c1"), {},
     ["parameters: must be a mapping of parameter names to {description, default} (received: ['company'])"]),
    ("a parameter not a mapping", parameterised("parameters:\n  company: c1\n", "c1"), {},
     ["parameters.company: must be a mapping with an optional description and default (e.g. {description: "
      "company code, default: acme}) (received: 'c1')"]),
    ("a default that is a list", parameterised("parameters:\n  company: {default: [a]}\n"), {},
     ["parameters.company.default: the value of parameter 'company' must be text or a number (received: "
      "['a'])"]),
]


@pytest.mark.parametrize(("case", "text", "params", "problems"), BAD, ids=[b[0] for b in BAD])
def test_bad_parameters_are_refused_with_every_problem(
    case: str, text: str, params: dict[str, str], problems: list[str]
) -> None:
    with pytest.raises(InvalidDefinitionError) as caught:
        parse_definition(text, filename="wf.yaml", params=params)
    assert [p.render() for p in caught.value.problems] == problems


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["company"], "--param 'company' is not NAME=VALUE with a lowercase NAME, e.g. --param erp_tenant=acme"),
        (["Company=1"], "--param 'Company=1' is not NAME=VALUE with a lowercase NAME, e.g. --param "
                        "erp_tenant=acme"),
        (["a=1", "a=2"], "--param a is given twice; give each parameter once"),
    ],
)
def test_bad_param_options(items: list[str], message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_param_options(items)
    assert str(caught.value) == message


def test_param_options_keep_equals_signs_in_values() -> None:
    assert parse_param_options(["a=b=c", "d="]) == {"a": "b=c", "d": ""}


def test_the_registry_stores_substituted_versions(
    registry: WorkflowRegistry, new_tenant: Callable[[], str], engine: Engine
) -> None:
    tenant = new_tenant()
    insert_sdk(engine, tenant)
    first, created = registry.apply(tenant, WITH_PARAMETER, "wf.yaml", {"company": "c1"})
    same, again = registry.apply(tenant, WITH_PARAMETER, "wf.yaml", {"company": "c1"})
    other, third = registry.apply(tenant, WITH_PARAMETER, "wf.yaml", {"company": "c2"})
    assert (first.version, created, same.version, again, other.version, third) == (1, True, 1, False, 2, True)
    _, stored = registry.get(tenant, "orders_sync", 2)
    assert stored.activities[0].config.params == {"company_id": "c2"}
    assert stored.parameters["company"].value == "c2"
    with pytest.raises(InvalidDefinitionError):
        registry.apply(tenant, WITH_PARAMETER, "wf.yaml")


def test_cli_apply_takes_param_options(
    erp: ErpCli, new_tenant: Callable[[], str], engine: Engine, tmp_path: Path
) -> None:
    tenant = new_tenant()
    insert_sdk(engine, tenant)
    wf = tmp_path / "orders.yaml"
    wf.write_text(WITH_PARAMETER)
    missing = erp("workflow", "apply", tenant, str(wf))
    assert missing.code == 2
    assert missing.stderr == (
        f"error: {wf}: invalid workflow definition: 1 problem\n  - parameters.company: parameter 'company' "
        f"has no default and no value was supplied: supply one with {HINT.format(name='company')}\n"
    )
    valid = erp("workflow", "validate", tenant, str(wf), "--param", "company=c9")
    assert valid.code == 0, valid.stderr
    applied = erp("workflow", "apply", tenant, str(wf), "--param", "company=c9", "--json")
    assert applied.code == 0, applied.stderr
    shown = erp("workflow", "show", tenant, "orders_sync", "--json").json()
    assert shown["definition"]["activities"][0]["config"]["params"] == {"company_id": "c9"}
    assert shown["definition"]["parameters"]["company"]["value"] == "c9"
    bad = erp("workflow", "apply", tenant, str(wf), "--param", "company")
    assert bad.code == 2
    assert bad.stderr.strip() == (
        "error: --param 'company' is not NAME=VALUE with a lowercase NAME, e.g. --param erp_tenant=acme"
    )
