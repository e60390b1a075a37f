"""The running platform for the end-to-end tests of this package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.database import fresh_database
from tests.support.stack import Stack, running_stack

#: extracts of this package's stack read pages past this one in page workers
PAGE_WORKERS_AFTER_PAGES = 3


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running platform (mock ERP, fork server, tenant code servers, daemon, webserver) for this package.

    It has its own database, so its code servers are exactly the tenants these tests create, and it stops
    when the package's tests are done (other packages start their own stacks). Extracts past their third page
    read the rest in page workers, so the runs of these tests go through them.
    """
    with fresh_database("erp_stack") as url, running_stack(
        url, tmp_path_factory.mktemp("stack_home"), rows=300, webserver=True,
        env={"ERP_PAGE_WORKERS_AFTER_PAGES": str(PAGE_WORKERS_AFTER_PAGES)},
    ) as running:
        yield running
