"""Masking of the credential values a session attached, wherever host data leaves the host.

An ERP may repeat a secret back: OData servers copy the query string (an API key in the query included)
into ``@odata.nextLink``, error bodies quote the request, a guest logs a URL. The session applies one
:class:`SecretMask` to everything it hands out (continuation tokens, paging notes, errors and their
causes, guest log lines, request-trail rows, and the records of a response that held a secret), so no
such copy reaches the caller, a checkpoint, a loaded table, the audit trail or a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from erp_platform._errors import ErpPlatformError

#: What replaces a secret value.
MASK = "*****"
#: Values shorter than this are not searched for (a short value such as a company code would mask every word
#: containing it); real secrets are longer.
MIN_MASKED_LENGTH = 6


class SecretMask:
    """Hides every credential value of one session; the values come from ``source`` when first needed.

    ``source`` returns the values the host attached (it reads the credentials once per session); until
    the session attached credentials there is nothing to hide.
    """

    def __init__(self, source: Callable[[], Iterable[str]]) -> None:
        self._source = source
        self._values: frozenset[str] = frozenset()
        self._forms: tuple[str, ...] = ()

    def refresh(self) -> None:
        """Take the values the session attached so far (called after each request)."""
        values = frozenset(v for v in self._source() if len(v) >= MIN_MASKED_LENGTH)
        if values == self._values:
            return
        self._values = values
        forms = {form for value in values for form in _spellings(value)}
        self._forms = tuple(sorted(forms, key=len, reverse=True))  # longest first: no partial leftovers

    @property
    def active(self) -> bool:
        """True when there is a value to hide."""
        return bool(self._forms)

    def text(self, text: str) -> str:
        """``text`` with every spelling of every secret replaced by ``*****``."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def optional(self, text: str | None) -> str | None:
        """Like :meth:`text`, passing None through."""
        return None if text is None else self.text(text)

    def found_in(self, body: bytes) -> bool:
        """True when a response body holds a secret (in any spelling): its records need :meth:`value`."""
        return any(form.encode("utf-8") in body for form in self._forms)

    def value(self, data: Any) -> Any:
        """``data`` (records, a result) with every string masked, keys included; other values unchanged."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, list):
            return [self.value(item) for item in data]
        if isinstance(data, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in data.items()}
        return data

    def token(self, token: str | None) -> str | None:
        """A continuation token without secrets.

        In a next link (a token with a query string), a query parameter whose value is a secret is
        dropped: the host attaches the credential again to the next request (and only to the origin the
        credential is bound to). Any other copy is masked (a cursor holding a secret then stops paging
        instead of leaking it).
        """
        if token is None or not self._forms:
            return token
        if "?" in token:
            head, _, query = token.partition("?")
            query, hash_sign, fragment = query.partition("#")
            kept = [part for part in query.split("&") if unquote_plus(part.partition("=")[2]) not in self._values]
            token = head + ("?" + "&".join(kept) if kept else "") + hash_sign + fragment
        return self.text(token)

    def error(self, exc: BaseException) -> None:
        """Mask the message of ``exc`` and of the platform errors in its cause chain, in place."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            if isinstance(current, ErpPlatformError):
                _mask_error(current, self)
            current = current.__cause__ or current.__context__


def _spellings(value: str) -> set[str]:
    """The forms a secret takes in text: as is, percent-encoded (path and form style)."""
    return {value, quote(value, safe=""), quote(value, safe="/:@"), quote_plus(value)}


def _mask_error(exc: ErpPlatformError, mask: SecretMask) -> None:
    detail = getattr(exc, "detail", None)
    if isinstance(detail, str):
        masked = mask.text(detail)
        if masked == detail:
            return
        exc.detail = masked  # type: ignore[attr-defined]
        context = getattr(exc, "context", None)
        message = masked if context is None else f"{context}: {masked}"
    else:
        message = mask.text(exc.message)
        if message == exc.message:
            return
    exc.message = message
    exc.args = (message, *exc.args[1:])
    guest_error = getattr(exc, "guest_error", None)
    if guest_error is not None and hasattr(guest_error, "model_copy"):
        exc.guest_error = guest_error.model_copy(  # type: ignore[attr-defined]
            update={"message": mask.text(guest_error.message)}
        )
