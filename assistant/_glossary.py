"""ERP abbreviations and synonyms, and the name normalisation the offline mapper compares names with.

``canonical_tokens("CustNo")`` -> ``("customer", "number")``; ``canonical_tokens("KUNNR")`` ->
``("customer", "number")``. Synonyms map to one word (``debtor`` and ``client`` -> ``customer``), so
names from different ERPs meet on common ground. The glossary is data: extend it, not the code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: abbreviation or synonym -> canonical words
GLOSSARY: Mapping[str, tuple[str, ...]] = {
    # numbers, ids, codes
    "no": ("number",), "nr": ("number",), "nbr": ("number",), "num": ("number",), "nummer": ("number",),
    "ident": ("id",), "identifier": ("id",), "key": ("id",), "guid": ("id",),
    "uuid": ("id",),
    # parties
    "cust": ("customer",), "cus": ("customer",), "client": ("customer",), "debtor": ("customer",),
    "kunnr": ("customer", "number"), "kunde": ("customer",), "buyer": ("customer",),
    "vend": ("vendor",), "supplier": ("vendor",), "creditor": ("vendor",), "lifnr": ("vendor", "number"),
    # documents
    "inv": ("invoice",), "bill": ("invoice",), "ord": ("order",), "so": ("sales", "order"),
    "po": ("purchase", "order"), "doc": ("document",), "ln": ("line",), "lin": ("line",), "pos": ("line",),
    "posnr": ("line", "number"), "vbeln": ("sales", "order", "number"), "hdr": ("header",),
    # items
    "itm": ("item",), "material": ("item",), "product": ("item",), "prod": ("item",), "article": ("item",),
    "art": ("item",), "matnr": ("item", "number"), "sku": ("item", "number"), "uom": ("unit", "measure"),
    "meins": ("unit", "measure"), "stk": ("stock",), "inventory": ("stock",), "onhand": ("stock",),
    "wt": ("weight",), "kg": ("kg",), "cat": ("category",), "grp": ("category",), "group": ("category",),
    # amounts
    "amt": ("amount",), "amnt": ("amount",), "tot": ("total",), "ttl": ("total",), "val": ("value",),
    "qty": ("quantity",), "quant": ("quantity",), "menge": ("quantity",), "prc": ("price",),
    "price": ("price",), "disc": ("discount",), "dsc": ("discount",), "pct": ("percent",),
    "perc": ("percent",), "percentage": ("percent",), "bal": ("balance",), "lmt": ("limit",),
    "cr": ("credit",), "net": ("net",), "netwr": ("net", "amount"), "vat": ("tax",), "tx": ("tax",),
    "paid": ("paid",), "pmt": ("payment",), "pay": ("payment",), "trm": ("terms",), "term": ("terms",),
    "curr": ("currency",), "cur": ("currency",), "ccy": ("currency",), "waers": ("currency",),
    "cost": ("cost",),
    # descriptive
    "nm": ("name",), "nam": ("name",), "name1": ("name",), "displayname": ("name",), "title": ("name",),
    "desc": ("description",), "descr": ("description",), "dscr": ("description",), "txt": ("text",),
    "addr": ("address",), "adr": ("address",), "street": ("address",), "cty": ("city",), "ort": ("city",),
    "town": ("city",), "cntry": ("country",), "ctry": ("country",), "land": ("country",),
    "land1": ("country",), "tel": ("phone",), "telephone": ("phone",),
    "mail": ("email",), "emailaddress": ("email",), "ref": ("reference",), "ext": ("external",),
    "extn": ("external",), "sts": ("status",), "stat": ("status",), "state": ("status",),
    "actv": ("active",), "enabled": ("active",), "blk": ("blocked",), "blocked": ("blocked",),
    "prio": ("priority",), "bool": ("boolean",), "flg": ("flag",), "urgent": ("priority",), "cnt": ("count",),
    "count": ("count",),
    # dates and times
    "dt": ("date",), "dat": ("date",), "datum": ("date",), "day": ("date",), "ts": ("timestamp",),
    "time": ("timestamp",), "timestamp": ("timestamp",), "at": ("timestamp",), "on": ("timestamp",),
    "upd": ("updated",), "mod": ("updated",), "modified": ("updated",), "changed": ("updated",),
    "lastmodified": ("updated",), "last": (), "aedat": ("updated", "date"), "chg": ("updated",),
    "crt": ("created",), "cre": ("created",), "creation": ("created",), "erdat": ("created", "date"),
    "req": ("requested",), "reqd": ("requested",), "dlv": ("delivery",), "deliv": ("delivery",),
    "ship": ("shipped",), "shipped": ("shipped",), "due": ("due",), "is": (), "has": (), "flag": (),
    "the": (), "of": (), "odata": (), "etag": ("etag",), "property": (), "prop": (),
    # people
    "given": ("first",), "forename": ("first",), "firstname": ("first", "name"), "surname": ("last", "name"),
    "family": ("last",), "lastname": ("last", "name"), "hire": ("employment",), "hired": ("employment",),
}

_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def split_words(name: str) -> list[str]:
    """``"CustomerNo2"`` -> ``["customer", "no", "2"]``; ``"@odata.etag"`` -> ``["odata", "etag"]``."""
    words: list[str] = []
    for part in _SPLIT.split(name):
        if part:
            words.extend(w.lower() for w in _CAMEL.split(part) if w)
    return words


def canonical_tokens(name: str) -> tuple[str, ...]:
    """The words of ``name``, lowercase, each abbreviation or synonym replaced by its canonical words."""
    out: list[str] = []
    words = split_words(name)
    joined = "".join(words)
    if joined in GLOSSARY and len(words) > 1:  # "last_modified", "display_name" as one word
        words = [joined]
    i = 0
    while i < len(words):
        pair = words[i] + words[i + 1] if i + 1 < len(words) else ""
        if pair in GLOSSARY:  # "on_hand", "last_name": two words the glossary knows as one
            out.extend(GLOSSARY[pair])
            i += 2
            continue
        out.extend(GLOSSARY.get(words[i], (words[i],)))
        i += 1
    return tuple(out)


def expansions(name: str) -> list[str]:
    """Human-readable glossary steps applied to ``name`` (``["cust -> customer", "no -> number"]``)."""
    steps = []
    for word in split_words(name):
        canon = GLOSSARY.get(word)
        if canon is not None and canon != (word,) and canon:
            steps.append(f"{word} -> {' '.join(canon)}")
    return steps
