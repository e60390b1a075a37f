"""Loads: merge frames into ``tenant_<slug>.<table>`` with an exactly-once effect.

Exactly-once, precisely: every load call is one transaction under the tenant's role, and it upserts
on the business key (unchanged rows are not rewritten). So a load that is retried, re-executed from
failure or resumed after a crash leaves the same table as one successful run: never duplicates, never
a half-written batch. It does not delete rows that disappeared from the ERP, and a retry loads what the
ERP returns at that time (the table converges to the ERP's latest snapshot per business key). See
``EXACTLY_ONCE.md`` beside this file for the full statement.
"""

from erp_platform.loader._ddl import LOADED_AT_COLUMN, RUN_ID_COLUMN
from erp_platform.loader._errors import IncompatibleTableError, LoadFailed
from erp_platform.loader._keys import resolve_business_key
from erp_platform.loader._load import LoadResult, check_load, load_frame
from erp_platform.loader._spec import LoadSpec

__all__ = [
    "LOADED_AT_COLUMN",
    "RUN_ID_COLUMN",
    "IncompatibleTableError",
    "LoadFailed",
    "LoadResult",
    "LoadSpec",
    "check_load",
    "load_frame",
    "resolve_business_key",
]
