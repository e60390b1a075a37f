"""The offline mapper: ERP entity fields -> target table columns, without any AI.

For an existing table each (field, column) pair is scored on

* name similarity of the canonical names (:mod:`assistant._glossary`: abbreviations expanded, case and
  separators normalised, the entity's name allowed as a prefix: ``name`` of ``Customer`` meets
  ``customer_name``), measured with rapidfuzz;
* type compatibility (the transforms' conversion rule: same or widening 1.0, checked 0.8, refused 0);
* key hints (an entity key meeting the table's primary key scores higher);

then pairs are taken best first, one-to-one, down to a confidence threshold. Every proposed column
carries its confidence and the reason. For a new table, every field gets a column named after it.
With the AI provider up the model may re-rank and explain these proposals; it cannot add a field the
entity does not have.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from assistant._catalog import FieldView, OperationView, TableView
from assistant._glossary import canonical_tokens, expansions
from erp_platform.transforms import ColumnMapping, MappingSpec, column_name, conversion_rule

DEFAULT_THRESHOLD = 0.6
#: Words that add little to a name: a name with one of them more still means the same thing.
GENERIC_WORDS = frozenset({"timestamp", "date", "amount", "value", "address", "text", "code", "flag"})
_TYPE_FACTOR = {"same": 1.0, "safe": 1.0, "checked": 0.8, "refused": 0.0}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnProposal(_Frozen):
    """One proposed column: which field feeds it, as which type, how sure, and why."""

    source: str = Field(description="the field's exact name in the ERP records")
    target: str
    type: str
    confidence: float = Field(ge=0, le=1)
    reason: str
    key: bool = Field(False, description="part of the business key")


class MappingProposal(_Frozen):
    """Proposed columns for one entity -> table, and what was left unmapped."""

    sdk: str
    operation: str
    entity: str | None
    table: str
    new_table: bool
    columns: tuple[ColumnProposal, ...] = ()
    unmapped_fields: tuple[str, ...] = ()
    unmapped_columns: tuple[str, ...] = ()

    @property
    def business_key(self) -> tuple[str, ...]:
        return tuple(c.target for c in self.columns if c.key)

    def to_mapping_spec(self) -> MappingSpec:
        """The load's inline mapping (business-key columns not nullable)."""
        return MappingSpec(columns=[
            ColumnMapping(source=c.source, target=c.target, type=c.type, nullable=not c.key)
            for c in self.columns
        ])


def _entity_words(op: OperationView) -> tuple[str, ...]:
    words = canonical_tokens(op.entity or "")
    return tuple(w for w in words if w not in ("v2", "2", "v4", "4"))


def _suffixes(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [words[i:] for i in range(len(words))]


def _strip(tokens: tuple[str, ...], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    """``tokens``, and without a leading ``prefix`` (``customer name`` of a customer table: ``name``)."""
    out = [tokens]
    if prefix and tokens[: len(prefix)] == prefix and len(tokens) > len(prefix):
        out.append(tokens[len(prefix):])
    return out


def name_similarity(field: str, column: str, entity_words: tuple[str, ...] = (),
                    table_words: tuple[str, ...] = ()) -> float:
    """Similarity 0..1 of a field and a column name after glossary normalisation.

    The entity's name may prefix either side (``name`` of ``Customer`` is ``customer_name``); such a prefix
    counts only for an exact match, never as shared words of a fuzzy one.
    """
    a, b = canonical_tokens(field), canonical_tokens(column)
    if not a or not b:
        return 0.0
    # the entity's name or its last words (``order`` of ``sales order``) may prefix either side
    prefixes = [p for words in (entity_words, table_words) for p in _suffixes(words)]
    for p in prefixes:
        if p + a == b or a == p + b:
            return 1.0
    if "".join(a) == "".join(b):  # "web site" and "website"
        return 0.95
    best = 0.0
    for x in _strip(a, entity_words):
        for y in [v for p in (prefixes or [()]) for v in _strip(b, p)]:
            if x == y:
                return 1.0
            extra = set(x) ^ set(y)
            if (set(x) < set(y) or set(y) < set(x)) and extra <= GENERIC_WORDS:
                best = max(best, 0.85)  # "email" and "email address", "total" and "total amount"
            best = max(best, fuzz.token_sort_ratio(" ".join(x), " ".join(y)) / 100)
    return best


def _reason(field: FieldView, column: str, sim: float, *, rule: str, key_hint: bool, target_type: str) -> str:
    parts = []
    if field.name == column:
        parts.append("same name")
    elif sim >= 0.999:
        steps = expansions(field.name) + expansions(column)
        parts.append("same name after normalisation" + (f" ({', '.join(steps)})" if steps else ""))
    else:
        parts.append(f"name similarity {sim:.2f}")
    parts.append(f"{field.column_type} -> {target_type} ({rule})")
    if key_hint:
        parts.append("entity key meets the table's primary key")
    return "; ".join(parts)


def propose_mapping(
    op: OperationView, table: str, existing: TableView | None = None, *, threshold: float = DEFAULT_THRESHOLD
) -> MappingProposal:
    """Propose the columns of a load of ``op``'s records into ``table``.

    Args:
        op: the collection read whose entity fields are the sources.
        table: the target table's name.
        existing: the table as it exists in the tenant's schema (None: a new table).
        threshold: lowest confidence proposed for an existing table.
    """
    if existing is None:
        return _new_table(op, table)
    entity_words = _entity_words(op)
    table_words = tuple(canonical_tokens(_singular(table)))
    pk = set(existing.primary_key)
    scored: list[tuple[float, int, int, ColumnProposal]] = []
    for i, field in enumerate(op.fields):
        for j, column in enumerate(existing.columns):
            rule = conversion_rule(field.column_type, column.type)
            factor = _TYPE_FACTOR[rule]
            if field.column_type == "jsonb" and column.type != "jsonb":
                factor *= 0.6  # a nested object flattened into text is rarely what a column means
            if factor == 0:
                continue
            sim = name_similarity(field.name, column.name, entity_words, table_words)
            key_hint = field.key and column.primary_key
            score = min(1.0, sim * factor + (0.1 if key_hint else 0.0))
            if score < threshold:
                continue
            proposal = ColumnProposal(
                source=field.name, target=column.name, type=column.type, confidence=round(score, 3),
                reason=_reason(field, column.name, sim, rule=rule, key_hint=key_hint, target_type=column.type),
                key=column.name in pk,
            )
            scored.append((score, -i, -j, proposal))
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    used_fields: set[str] = set()
    used_columns: set[str] = set()
    chosen: list[ColumnProposal] = []
    for _, _, _, proposal in scored:
        if proposal.source in used_fields or proposal.target in used_columns:
            continue
        used_fields.add(proposal.source)
        used_columns.add(proposal.target)
        chosen.append(proposal)
    order = {c.name: k for k, c in enumerate(existing.columns)}
    chosen.sort(key=lambda c: order[c.target])
    if pk and not pk <= used_columns:  # the merge needs the whole primary key: no partial business key
        chosen = [c.model_copy(update={"key": False}) for c in chosen]
    if not any(c.key for c in chosen) and not pk:
        chosen = _key_from_entity(op, chosen)
    return MappingProposal(
        sdk=op.sdk, operation=op.name, entity=op.entity, table=table, new_table=False, columns=tuple(chosen),
        unmapped_fields=tuple(f.name for f in op.fields if f.name not in used_fields),
        unmapped_columns=tuple(c.name for c in existing.columns if c.name not in used_columns),
    )


def _key_from_entity(op: OperationView, chosen: list[ColumnProposal]) -> list[ColumnProposal]:
    keys = set(op.keys)
    if keys and keys <= {c.source for c in chosen}:
        return [c.model_copy(update={"key": c.source in keys}) for c in chosen]
    return chosen


def _new_table(op: OperationView, table: str) -> MappingProposal:
    columns: list[ColumnProposal] = []
    seen: set[str] = set()
    for field in op.fields:
        target = column_name(field.name)
        if target in seen:
            continue
        seen.add(target)
        reason = "new column named after the field" + ("" if target == field.name else f" ({field.name} -> {target})")
        columns.append(ColumnProposal(source=field.name, target=target, type=field.column_type, confidence=1.0,
                                      reason=reason, key=field.key))
    return MappingProposal(sdk=op.sdk, operation=op.name, entity=op.entity, table=table, new_table=True,
                           columns=tuple(columns))


def _singular(name: str) -> str:
    return re.sub(r"(ies)$", "y", re.sub(r"(?<!s)s$", "", name))
