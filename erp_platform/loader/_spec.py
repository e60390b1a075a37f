"""Config of a ``load`` activity: which table, which business key, which columns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from erp_platform.transforms._spec import Identifier, MappingSpec


class LoadSpec(BaseModel):
    """Merge the input into ``tenant_<slug>.<table>`` on ``business_key`` (upsert, exactly-once effect)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: Identifier | None = Field(None, description="input activity (default: the step's only dependency)")
    table: Identifier
    business_key: list[Identifier] = Field(min_length=1, description="target columns that identify a row")
    mapping: MappingSpec | None = Field(None, description="inline column mapping")
    mapping_ref: Identifier | None = Field(
        None,
        description="name of a stored mapping config (erp_control.mapping_configs), newest ACTIVE version",
    )
    mode: str = Field("merge", pattern=r"^merge$", description="merge (upsert on the business key)")

    @model_validator(mode="after")
    def _one_mapping(self) -> LoadSpec:
        if (self.mapping is None) == (self.mapping_ref is None):
            raise ValueError(
                "give exactly one of `mapping` (inline columns) or `mapping_ref` (stored mapping)"
            )
        return self
