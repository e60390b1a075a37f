"""Heuristics that recognise pagination and incremental-read support from parameter and field names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from erp_platform.sandbox._protocol import FieldKind
from sdk_builder._model import (
    DateFormat,
    Entity,
    Incremental,
    IncrementalMode,
    Pagination,
    PaginationStyle,
)
from sdk_builder._openapi_schema import ResponseShape

# Names are compared lower-cased with everything but letters and digits removed.
_PAGE = ("page", "pagenumber", "pageno", "pagenum", "pageindex")
_SIZE = ("pagesize", "perpage", "limit", "size", "pagelen", "pagelength", "maxresults", "top", "take",
         "first", "count", "max", "numbertoread", "maxpagesize", "pagelimit")
_OFFSET = ("offset", "skip", "start", "startindex", "startat", "skiprecords", "startposition")
_CURSOR = ("cursor", "after", "startingafter", "pagetoken", "nexttoken", "continuationtoken", "continuation",
           "marker", "nextpagetoken", "pagecursor", "nextcursor", "searchafter", "batchtoken")
_NEXT_CURSOR_META = ("nextcursor", "nextpagetoken", "nexttoken", "endcursor", "nextmarker",
                     "continuationtoken", "continuation", "cursor", "metanextcursor", "pagingnextcursor",
                     "paginationnextcursor", "metacursorsnext", "cursorsnext", "cursorsafter", "pagingcursorsafter")
_NEXT_LINK_META = ("odatanextlink", "nextlink", "linksnexthref", "nextpageurl", "nexturl", "linksnext",
                   "pagingnext", "metanext", "paginationnext", "pagedetailsnextpageurl", "next", "nextpage")
_PAGE_COUNT_META = ("pagecount", "totalpages", "pages", "lastpage", "numpages", "pagescount")
_TOTAL_META = ("totalcount", "total", "totalitems", "totalrecords", "totalresults", "odatacount", "count",
               "resultcount")
_SINCE_PARAMS = ("updatedsince", "modifiedsince", "changedsince", "lastmodifiedsince", "updatedafter",
                 "modifiedafter", "changedafter", "lastupdatedsince", "since", "updatedatmin", "updatedfrom",
                 "modifiedfrom", "lastmodifiedfrom", "changedfrom", "beginupdatedat", "updatedsinceutc",
                 "modifiedsinceutc", "lastmodifiedafter", "updatedatfrom", "updatedatgte", "updatedgte")
_CURSOR_FIELDS = (
    "updateddateutc", "lastchangedatetime", "lastmodifieddatetime", "lastmodifiedat", "lastmodified",
    "lastmodifiedtime", "lastmodifiedon", "lastmodifieddate", "systemmodifiedat", "updatedat",
    "updateddatetime", "updatedon", "updated", "updatedtime", "lastupdated", "lastupdatedat",
    "lastupdatedtime", "lastupdatedon", "modifiedat", "modifieddatetime", "modifiedon", "modified",
    "modifiedtime", "modifieddate", "lastchangeddatetime", "lastchangedat", "lastchangedon", "changedat",
    "changedon", "changed", "changedatetime", "dateupdated", "datemodified", "updatedate", "modifydate",
    "sourcemodifieddate",
)


def alnum(name: str) -> str:
    """Lower-case letters and digits only: ``$top`` -> ``top``, ``page_size`` -> ``pagesize``."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _first(table: Mapping[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        if name in table:
            return table[name]
    return None


_UP_TO = re.compile(r"(?:up to|at most|maximum of|max(?:imum)?\.?|limited to|returns?)\s+(\d{2,5})\b", re.I)
_AFTER_ID = ("startingafter", "after", "sinceid", "afterid", "startafter")
_HAS_MORE_META = ("hasmore", "hasnext", "hasnextpage", "more", "moreresults", "nextpage")


def _fixed_page_size(descriptions: Sequence[str]) -> int | None:
    """A server page size stated in the text (``Up to 100 contacts will be returned``)."""
    for text in descriptions:
        match = _UP_TO.search(text or "")
        if match:
            return int(match.group(1))
    return None


def _where(path: str | None) -> str:
    return f"`{path}`" if path else "nothing"


def detect_pagination(
    query: Mapping[str, tuple[str, dict[str, Any]]],
    shape: ResponseShape,
    *,
    key_field: str | None = None,
    texts: Sequence[str] = (),
) -> tuple[Pagination, str]:
    """Pagination of a GET collection and the evidence for it.

    Args:
        query: the operation's query parameters, alnum name -> (wire name, schema).
        shape: the response shape (record path, metadata paths, declared headers).
        key_field: the records' id field (cursor = id of the last record, Stripe's ``starting_after``).
        texts: the operation's and its parameters' descriptions (a fixed server page size is read there).
    """
    wires = {wire for wire, _ in query.values()}
    if shape.odata:
        v4 = shape.record_path == ("value",)
        declared = ("odatanextlink" if v4 else "next") in shape.meta
        next_path = "@odata.nextLink" if v4 else "d.__next"
        if "$top" in wires and "$skip" in wires:
            style = PaginationStyle.ODATA_NEXT_LINK if declared else PaginationStyle.ODATA_SKIP
            evidence = ("query parameters `$top`/`$skip`"
                        + (f"; follows `{next_path}` when the server sends one" if not declared
                           else f"; the response declares `{next_path}`"))
            return Pagination(style=style, size_param="$top", position_param="$skip", next_path=next_path), evidence
        evidence = f"OData envelope: follows `{next_path}` (server-driven paging, $skiptoken)"
        if "$top" in wires:
            evidence += "; page size `$top`"
        return Pagination(
            style=PaginationStyle.ODATA_NEXT_LINK,
            size_param="$top" if "$top" in wires else None,
            next_path=next_path,
        ), evidence
    page, size = _first(query, _PAGE), _first(query, _SIZE)
    offset, cursor = _first(query, _OFFSET), _first(query, _CURSOR)
    size_wire = size[0] if size else None
    size_note = f"; page size `{size_wire}`" if size_wire else ""
    total = _first(shape.meta, _TOTAL_META)
    link = _first(shape.meta, _NEXT_LINK_META)
    has_more = _first(shape.meta, _HAS_MORE_META)
    header_link = "link" in shape.headers
    if cursor:
        next_cursor = _first(shape.meta, _NEXT_CURSOR_META)
        if next_cursor:
            return Pagination(
                style=PaginationStyle.CURSOR, size_param=size_wire, position_param=cursor[0], next_path=next_cursor,
                has_more_path=has_more,
            ), f"cursor parameter `{cursor[0]}` <- response `{next_cursor}`{size_note}"
        if alnum(cursor[0]) in _AFTER_ID and key_field and shape.record_path is not None:
            last = ".".join((*shape.record_path, "-1", key_field))
            evidence = f"cursor parameter `{cursor[0]}` <- `{key_field}` of the last record"
            if has_more:
                evidence += f", while `{has_more}` is true"
            return Pagination(
                style=PaginationStyle.CURSOR, size_param=size_wire, position_param=cursor[0], next_path=last,
                has_more_path=has_more,
            ), evidence + size_note
    if link and not page and not offset:
        return Pagination(
            style=PaginationStyle.ODATA_NEXT_LINK, size_param=size_wire, next_path=link
        ), f"next link in response `{link}`{size_note}"
    if header_link and not page and not offset:
        return Pagination(
            style=PaginationStyle.ODATA_NEXT_LINK, size_param=size_wire, next_path="header:link"
        ), f"the response declares a `Link` header (rel=\"next\"){size_note}"
    if page:
        minimum = page[1].get("minimum", page[1].get("default", 1))
        count_path = _first(shape.meta, _PAGE_COUNT_META)
        fixed = None if size_wire else _fixed_page_size(texts)
        if size_wire:
            evidence = f"page number `{page[0]}`{size_note}"
        else:
            evidence = f"page number `{page[0]}` only: the server sets the page size"
            evidence += f" ({fixed} per page, from the description)" if fixed else ""
        if count_path:
            evidence += f"; stops after `{count_path}` pages"
        elif total:
            evidence += f"; stops at `{total}` records"
        else:
            evidence += "; stops on a short or empty page"
        return Pagination(
            style=PaginationStyle.PAGE,
            size_param=size_wire,
            position_param=page[0],
            first_page=0 if minimum == 0 else 1,
            page_count_path=count_path,
            total_path=total,
            fixed_page_size=fixed,
        ), evidence
    if offset and size:
        evidence = f"offset `{offset[0]}` + limit `{size[0]}`"
        evidence += f"; stops at `{total}` records" if total else "; stops on a short or empty page"
        return Pagination(
            style=PaginationStyle.OFFSET_LIMIT,
            size_param=size_wire,
            position_param=offset[0],
            total_path=total,
        ), evidence
    if size:
        return Pagination(), (f"only a size parameter `{size_wire}` and no page, offset, cursor or next link: "
                              "one page of up to the requested size")
    return Pagination(), "no page, offset, cursor or next-link parameter or metadata: one page"


def cursor_field(entity: Entity | None) -> str | None:
    """The entity's last-change timestamp field (``lastModifiedDateTime``, ``updated_at`` ...), if any."""
    if entity is None:
        return None
    timestamps = {
        alnum(f.name): f.name for f in entity.fields if f.kind in (FieldKind.DATETIME, FieldKind.DATE)
    }
    found = _first(timestamps, _CURSOR_FIELDS)
    if found is None:  # a change field typed as a plain string (no date-time format in the spec)
        strings = {alnum(f.name): f.name for f in entity.fields if f.kind == FieldKind.STRING}
        found = _first(strings, _CURSOR_FIELDS)
    return str(found) if found is not None else None


def detect_incremental(
    query: Mapping[str, tuple[str, dict[str, Any]]],
    shape: ResponseShape,
    entity: Entity | None,
    *,
    headers: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
) -> tuple[Incremental | None, str]:
    """How ``_since`` maps onto the request, and the evidence.

    In order: an ``If-Modified-Since`` header parameter, a since-style query parameter
    (``updated_since``, ``modifiedSince``, or a query parameter named like the change field with a
    ``<name>Condition`` companion), else an OData ``$filter`` on the entity's change field.
    """
    field = cursor_field(entity)
    field_note = f"; change field `{field}`" if field else "; no change field in the records"
    header = _first(headers or {}, ("ifmodifiedsince",))
    if header:
        fmt = str(header[1].get("format") or "")
        literal = "iso" if fmt in ("date-time", "date") else "http_date"
        return (
            Incremental(field=field, mode=IncrementalMode.HEADER, param=header[0], literal=literal),
            f"header parameter `{header[0]}`" + field_note,
        )
    since = _first(query, _SINCE_PARAMS)
    if since:
        return (
            Incremental(field=field, mode=IncrementalMode.QUERY_PARAM, param=since[0], literal="iso"),
            f"query parameter `{since[0]}`" + field_note,
        )
    if field and alnum(field) in query:
        wire = query[alnum(field)][0]
        condition = query.get(alnum(field) + "condition")
        fixed: tuple[tuple[str, str], ...] = ()
        note = f"query parameter `{wire}` named like the change field `{field}`"
        if condition is not None:
            options = [str(v) for v in condition[1].get("enum") or []]
            operator = next((o for o in (">=", "gte", ">", "gt") if o in options), ">=")
            fixed = ((condition[0], operator),)
            note += f", with `{condition[0]}={operator}`"
        elif not _SINCE_LIKE_FIELD.search(str(query[alnum(field)][1].get("description") or "since after")):
            note += " (assumed to filter on or after the value)"
        return Incremental(field=field, mode=IncrementalMode.QUERY_PARAM, param=wire, literal="iso", fixed=fixed), note
    wires = {wire for wire, _ in query.values()}
    if "$filter" in wires and field:
        literal = "v2_datetime" if shape.date_format == DateFormat.DOTNET else "iso"
        return (
            Incremental(field=field, mode=IncrementalMode.ODATA_FILTER, param="$filter", literal=literal),
            f"OData `$filter` on the change field `{field}`",
        )
    if field:
        return None, f"change field `{field}` in the records, but no parameter filters on it: every read is full"
    return None, "no since-style parameter, If-Modified-Since header or change field"


_SINCE_LIKE_FIELD = re.compile(r"since|after|greater|newer|from", re.I)
