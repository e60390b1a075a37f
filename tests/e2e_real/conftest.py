"""The running platform and the ERP servers of the real-spec end-to-end tests.

One stack (own database, fork server, code servers, daemon), one Prism server per OpenAPI corpus spec and
one OData service per EDMX spec serve the whole package; each spec gets a tenant of its own, synced once
(:func:`synced`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e_real.harness import RealSync, SpecCheck
from tests.support.corpus import load_corpus
from tests.support.database import fresh_database
from tests.support.prism import PrismPool, prism_pool  # noqa: F401  (the session fixture)
from tests.support.stack import Stack, running_stack

SPECS = load_corpus().specs
SERVED = [s for s in SPECS if s.prism != "none"]
ODATA = ("odata_v2", "odata_v4")
# served by Prism, or (EDMX) by an OData service built from the spec; the manifest says why any other is not
SYNCED = [s for s in SPECS if s.endpoints and (s.prism != "none" or s.format in ODATA)]


@pytest.fixture(scope="package")
def real_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with fresh_database("erp_real") as url, running_stack(url, tmp_path_factory.mktemp("real_home"), rows=10) as s:
        yield s


@pytest.fixture(scope="package")
def real_sync(real_stack: Stack, prism_pool: PrismPool) -> Iterator[RealSync]:  # noqa: F811
    prism_pool.start_all(SERVED)
    sync = RealSync(real_stack, prism_pool)
    yield sync
    sync.close()


@pytest.fixture(scope="package")
def synced(real_sync: RealSync) -> dict[str, SpecCheck]:
    """Every corpus spec with endpoints synced once (the checks are read by the tests)."""
    return real_sync.check_all(SYNCED)
