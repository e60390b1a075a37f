"""Heuristics that recognise pagination and incremental-read support from parameter and field names."""

from __future__ import annotations

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
         "first", "count", "max")
_OFFSET = ("offset", "skip", "start", "startindex", "startat")
_CURSOR = ("cursor", "after", "startingafter", "pagetoken", "nexttoken", "continuationtoken", "continuation",
           "marker", "nextpagetoken", "pagecursor", "nextcursor")
_NEXT_CURSOR_META = ("nextcursor", "nextpagetoken", "nexttoken", "endcursor", "nextmarker",
                     "continuationtoken", "continuation", "cursor", "metanextcursor", "pagingnextcursor",
                     "paginationnextcursor")
_NEXT_LINK_META = ("odatanextlink", "nextlink", "next", "nextpage", "nextpageurl", "nexturl", "linksnext",
                   "pagingnext", "metanext", "paginationnext")
_PAGE_COUNT_META = ("pagecount", "totalpages", "pages", "lastpage", "numpages", "pagescount")
_TOTAL_META = ("totalcount", "total", "totalitems", "totalrecords", "totalresults", "odatacount", "count",
               "resultcount")
_SINCE_PARAMS = ("updatedsince", "modifiedsince", "changedsince", "lastmodifiedsince", "updatedafter",
                 "modifiedafter", "changedafter", "lastupdatedsince", "since")
_CURSOR_FIELDS = (
    "lastmodifieddatetime", "lastmodifiedat", "lastmodified", "lastmodifiedtime", "lastmodifiedon",
    "lastmodifieddate", "systemmodifiedat", "updatedat", "updateddatetime", "updatedon", "updated",
    "updatedtime", "lastupdated", "lastupdatedat", "lastupdatedtime", "lastupdatedon", "modifiedat",
    "modifieddatetime", "modifiedon", "modified", "modifiedtime", "modifieddate", "lastchangedatetime",
    "lastchangeddatetime", "lastchangedat", "lastchangedon", "changedat", "changedon", "changed",
    "changedatetime", "dateupdated", "datemodified", "updatedate", "modifydate",
)


def alnum(name: str) -> str:
    """Lower-case letters and digits only: ``$top`` -> ``top``, ``page_size`` -> ``pagesize``."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _first(table: Mapping[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        if name in table:
            return table[name]
    return None


def detect_pagination(query: Mapping[str, tuple[str, dict[str, Any]]], shape: ResponseShape) -> Pagination:
    """Pagination of a GET collection from its query parameters (alnum name -> (wire name, schema))."""
    wires = {wire for wire, _ in query.values()}
    if shape.odata:
        v4 = shape.record_path == ("value",)
        declared = ("odatanextlink" if v4 else "next") in shape.meta
        next_path = "@odata.nextLink" if v4 else "d.__next"
        if "$top" in wires and "$skip" in wires:
            style = PaginationStyle.ODATA_NEXT_LINK if declared else PaginationStyle.ODATA_SKIP
            return Pagination(style=style, size_param="$top", position_param="$skip", next_path=next_path)
        return Pagination(
            style=PaginationStyle.ODATA_NEXT_LINK,
            size_param="$top" if "$top" in wires else None,
            next_path=next_path,
        )
    page, size = _first(query, _PAGE), _first(query, _SIZE)
    offset, cursor = _first(query, _OFFSET), _first(query, _CURSOR)
    size_wire = size[0] if size else None
    total = _first(shape.meta, _TOTAL_META)
    if page:
        minimum = page[1].get("minimum", page[1].get("default", 1))
        return Pagination(
            style=PaginationStyle.PAGE,
            size_param=size_wire,
            position_param=page[0],
            first_page=0 if minimum == 0 else 1,
            page_count_path=_first(shape.meta, _PAGE_COUNT_META),
            total_path=total,
        )
    if offset and size:
        return Pagination(
            style=PaginationStyle.OFFSET_LIMIT,
            size_param=size_wire,
            position_param=offset[0],
            total_path=total,
        )
    if cursor:
        next_path = _first(shape.meta, _NEXT_CURSOR_META) or _first(shape.meta, _NEXT_LINK_META)
        if next_path:
            return Pagination(
                style=PaginationStyle.CURSOR,
                size_param=size_wire,
                position_param=cursor[0],
                next_path=next_path,
            )
    link = _first(shape.meta, _NEXT_LINK_META)
    if link:
        return Pagination(style=PaginationStyle.ODATA_NEXT_LINK, size_param=size_wire, next_path=link)
    return Pagination()


def cursor_field(entity: Entity | None) -> str | None:
    """The entity's last-change timestamp field (``lastModifiedDateTime``, ``updated_at`` ...), if any."""
    if entity is None:
        return None
    candidates = {
        alnum(f.name): f.name for f in entity.fields if f.kind in (FieldKind.DATETIME, FieldKind.DATE)
    }
    found = _first(candidates, _CURSOR_FIELDS)
    return str(found) if found is not None else None


def detect_incremental(
    query: Mapping[str, tuple[str, dict[str, Any]]], shape: ResponseShape, entity: Entity | None
) -> Incremental | None:
    """How ``_since`` maps onto the request: a since-style query parameter, else an OData ``$filter``."""
    field = cursor_field(entity)
    since = _first(query, _SINCE_PARAMS)
    if since:
        return Incremental(field=field, mode=IncrementalMode.QUERY_PARAM, param=since[0], literal="iso")
    wires = {wire for wire, _ in query.values()}
    if "$filter" in wires and field:
        literal = "v2_datetime" if shape.date_format == DateFormat.DOTNET else "iso"
        return Incremental(field=field, mode=IncrementalMode.ODATA_FILTER, param="$filter", literal=literal)
    return None
