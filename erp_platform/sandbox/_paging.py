"""Paging guards of one operation's paging run, and the positional continuation tokens the host can predict.

A :class:`PagingGuard` watches the pages of a paging run in order (each page fetched with the continuation
token the previous one returned) and refuses to loop: a page repeating the previous one ends paging with a
note, a continuation token returned twice fails it. A session guards its own calls; a
:class:`~erp_platform.sandbox.PageReader` that fetches pages in parallel guards the ordered stream it hands
out instead.

Positional tokens (``P<page>``, ``Q<page>:<full page>``, ``S<skip>``, ``O<offset>``) name the next request
before the previous page is parsed: :func:`following_token` predicts the token after a full page, so pages can
be fetched ahead. Predictions are only ever checked against what the guest returns, never trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from erp_platform.sandbox._errors import CallContext, PagingLoopError
from erp_platform.sandbox._protocol import PARAM_MODE, PARAM_NEXT
from erp_platform.sandbox._selection import mask_token

#: records in a page, its first and its last record as sorted JSON
PageShape = tuple[int, bytes, bytes]


@dataclass
class _PagingChain:
    """The pages of one paging run of one operation (same parameters, following ``next``)."""

    key: str
    pages: int = 0
    tokens: dict[str, int] = field(default_factory=dict)  # token -> page that returned it
    last_token: str | None = None
    last_shape: PageShape | None = None


@dataclass(frozen=True)
class GuardedPage:
    """What the guard decided about one page: its records and next token (both emptied on a repeat)."""

    records: list[Any]
    next: str | None
    note: str | None = None  # why paging ended early


class PagingGuard:
    """Refuses paging loops across the pages of each operation, seen in paging order."""

    def __init__(self, context: Callable[[str], CallContext]) -> None:
        self._context = context
        self._chains: dict[str, _PagingChain] = {}

    def check(
        self, operation: str, params: Mapping[str, Any] | None, records: list[Any], following: str | None
    ) -> GuardedPage:
        """Check one page fetched with ``params`` (its ``_next`` is the token it was fetched with).

        A page repeating the previous page of the same paging run (same number of records, same first and
        last record) ends paging: it comes back without records or next token, with a note. Call it before
        the records are changed in place.

        Raises:
            PagingLoopError: the page returned a continuation token an earlier page of the run returned.
        """
        note = self.check_shape(operation, params, page_shape(records), following)
        if note is not None:
            return GuardedPage(records=[], next=None, note=note)
        return GuardedPage(records=records, next=following)

    def check_shape(
        self, operation: str, params: Mapping[str, Any] | None, shape: PageShape | None, following: str | None
    ) -> str | None:
        """:meth:`check` for a page known by its :func:`page_shape` (records parsed in another process).

        Returns the note ending paging when the page repeats the previous one (drop its records), else None.

        Raises:
            PagingLoopError: as :meth:`check`.
        """
        values = dict(params or {})
        token = values.pop(PARAM_NEXT, None)
        values.pop(PARAM_MODE, None)
        key = operation + "\0" + orjson.dumps(values, option=orjson.OPT_SORT_KEYS, default=str).decode()
        chain = self._chains.get(operation)
        if token is None or chain is None or chain.key != key or chain.last_token != token:
            chain = _PagingChain(key=key, pages=1 if token is not None else 0)
            if token is not None:
                chain.tokens[str(token)] = 0
            self._chains[operation] = chain
        chain.pages += 1
        if shape is not None and shape == chain.last_shape:  # distinct pages never share both ends
            note = (
                f"page {chain.pages} of operation {operation!r} repeated page {chain.pages - 1} ({shape[0]} "
                f"records, the same first and last record): the ERP does not advance on the continuation "
                f"({mask_token(token)}); paging ended after page {chain.pages - 1}"
            )
            self._chains.pop(operation, None)
            return note
        if following is not None and following in chain.tokens:
            self._chains.pop(operation, None)
            raise PagingLoopError(
                f"page {chain.pages} returned the continuation {mask_token(following)} that page "
                f"{chain.tokens[following]} already returned: the ERP's paging does not advance and would never "
                f"end. Check the operation's paging (`erp sdk show TENANT SDK --json`) and override it with "
                f"--set {operation}.paging.style=... if it is wrong",
                context=self._context(operation),
            )
        if following is not None:
            chain.tokens[following] = chain.pages
        chain.last_token, chain.last_shape = following, shape
        return None


def page_shape(records: list[Any]) -> PageShape | None:
    """What the guard compares between pages: the number of records and the first and last record (as
    sorted JSON); None for an empty page. Take it before the records are changed in place."""
    return (len(records), _canonical(records[0]), _canonical(records[-1])) if records else None


def following_token(token: str | None, page_size: int) -> str | None:
    """The continuation token after a full page fetched with ``token``, or None when it cannot be known
    before that page is parsed (the first page, next links, cursors).

    ``P7`` -> ``P8``; ``Q7:500`` -> ``Q8:500``; ``S2000`` -> ``S3000`` and ``O2000`` -> ``O3000`` for
    1,000-record pages.
    """
    if token is None or len(token) < 2 or page_size < 1:
        return None
    kind, rest = token[0], token[1:]
    if kind == "Q":
        page, sep, full = rest.partition(":")
        if sep and _digits(page) and _digits(full):
            return f"Q{int(page) + 1}:{full}"
        return None
    if not _digits(rest):
        return None
    if kind == "P":
        return f"P{int(rest) + 1}"
    if kind in ("S", "O"):
        return f"{kind}{int(rest) + page_size}"
    return None


def _digits(text: str) -> bool:
    return 0 < len(text) <= 18 and text.isascii() and text.isdigit()


def _canonical(record: Any) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=str)
