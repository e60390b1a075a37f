"""Read a whole entity through each API style, the way a client would, checking the paging contract."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from erp_platform.mock_erp import ENTITIES, Kind

STYLES = ("odata_v4", "odata_v2", "rest")


def iso_from_dotnet(value: str, kind: Kind) -> str:
    """``/Date(ms)/`` back to the ISO form the REST API uses for that field kind."""
    assert value.startswith("/Date(") and value.endswith(")/"), value
    moment = datetime.fromtimestamp(int(value[6:-2]) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if kind is Kind.DATETIME else moment.strftime("%Y-%m-%d")


def v2_to_rest(entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """An OData V2 record in REST form (dates converted)."""
    out = dict(record)
    for field in ENTITIES[entity].fields:
        if field.kind in (Kind.DATETIME, Kind.DATE) and out[field.name] is not None:
            out[field.name] = iso_from_dotnet(out[field.name], field.kind)
    return out


def read_all(
    client: httpx.Client, style: str, entity: str, page_size: int | None, *, since: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Every record of ``entity`` (REST form) and the number of requests it took."""
    if style == "odata_v4":
        return _read_v4(client, entity, page_size, since)
    if style == "odata_v2":
        return _read_v2(client, entity, page_size, since)
    return _read_rest(client, entity, page_size, since)


def _follow(
    client: httpx.Client, url: str, params: dict[str, str], records_of: Any, next_of: Any
) -> tuple[list[dict[str, Any]], int]:
    records: list[dict[str, Any]] = []
    requests = 0
    next_url: str | None = url
    query: dict[str, str] | None = params
    while next_url is not None:
        response = client.get(next_url, params=query)
        requests += 1
        assert response.status_code == 200, response.text
        body = response.json()
        page = records_of(body)
        next_url, query = next_of(body), None
        if next_url is not None:
            assert next_url.startswith(str(client.base_url).rstrip("/")), next_url
            assert page, "a page with a next link must not be empty"
        records.extend(page)
        assert requests < 100_000
    return records, requests


def _read_v4(
    client: httpx.Client, entity: str, page_size: int | None, since: str | None
) -> tuple[list[dict[str, Any]], int]:
    params = {} if page_size is None else {"$top": str(page_size)}
    if since is not None:
        params["$filter"] = f"updated_at gt {since}"
    url = f"/odata/v4/companies(acme)/{ENTITIES[entity].v4_set}"
    return _follow(client, url, params, lambda b: b["value"], lambda b: b.get("@odata.nextLink"))


def _read_v2(
    client: httpx.Client, entity: str, page_size: int | None, since: str | None
) -> tuple[list[dict[str, Any]], int]:
    params = {} if page_size is None else {"$top": str(page_size)}
    if since is not None:
        params["$filter"] = f"updated_at gt datetime'{since.rstrip('Z')}'"
    url = f"/odata/v2/{ENTITIES[entity].v2_set}"
    records, requests = _follow(
        client, url, params, lambda b: b["d"]["results"], lambda b: b["d"].get("__next")
    )
    return [v2_to_rest(entity, r) for r in records], requests


def _read_rest(
    client: httpx.Client, entity: str, page_size: int | None, since: str | None
) -> tuple[list[dict[str, Any]], int]:
    url = f"/api/v1/{ENTITIES[entity].rest_path}"
    records: list[dict[str, Any]] = []
    page_no, requests, page_count = 1, 0, 1
    while page_no <= page_count:
        params = {"page": str(page_no)}
        if page_size is not None:
            params["pageSize"] = str(page_size)
        if since is not None:
            params["updated_since"] = since
        body = client.get(url, params=params).json()
        requests += 1
        size = body["pageSize"]
        page_count = body["pageCount"]
        assert body["page"] == page_no
        assert page_count == -(-body["totalCount"] // size)
        expected_len = size if page_no < page_count else body["totalCount"] - size * (page_count - 1)
        assert len(body["items"]) == expected_len
        records.extend(body["items"])
        page_no += 1
    return records, requests
