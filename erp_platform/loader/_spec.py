"""Config of a ``load`` activity: which table, which business key, which columns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from erp_platform.transforms._names import FieldName
from erp_platform.transforms._spec import Identifier, MappingSpec


class LoadSpec(BaseModel):
    """Merge the input into ``tenant_<slug>.<table>`` on ``business_key`` (upsert, exactly-once effect).

    Without ``mapping`` and ``mapping_ref`` every field of the input is loaded (a mapping derived from the
    input's fields: snake_case columns of the fields' own types). Without ``business_key`` the key is the
    primary key the SDK declares for the records the load reads.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: Identifier | None = Field(None, description="input activity (default: the step's only dependency)")
    table: Identifier
    business_key: list[FieldName] | None = Field(
        None, min_length=1,
        description="target columns (or the source fields mapped to them) that identify a row; default: the "
        "SDK operation's primary key",
    )
    mapping: MappingSpec | None = Field(None, description="inline column mapping")
    mapping_ref: Identifier | None = Field(
        None,
        description="name of a stored mapping config (erp_control.mapping_configs), newest ACTIVE version",
    )
    mode: str = Field("merge", pattern=r"^merge$", description="merge (upsert on the business key)")

    @model_validator(mode="after")
    def _one_mapping(self) -> LoadSpec:
        if self.mapping is not None and self.mapping_ref is not None:
            raise ValueError(
                "give at most one of `mapping` (inline columns) or `mapping_ref` (stored mapping); without "
                "either, every field of the input is loaded"
            )
        return self
