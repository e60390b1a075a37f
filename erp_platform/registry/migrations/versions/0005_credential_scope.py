"""credentials bound to an SDK: tenant_credentials.sdk, unique per tenant, SDK and name

Credentials stored before this revision keep ``sdk = ''`` (tenant-wide): no SDK reads them any more; the
operator binds each to the SDKs that need it (``erp credentials grant``) or sets it again with ``--sdk``.

Revision ID: 0005_credential_scope
Revises: 0004_assistant
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_credential_scope"
down_revision = "0004_assistant"
branch_labels = None
depends_on = None

S = "erp_control"


def upgrade() -> None:
    op.add_column(
        "tenant_credentials",
        sa.Column("sdk", sa.String(63), server_default=sa.text("''"), nullable=False),
        schema=S,
    )
    op.alter_column("tenant_credentials", "sdk", server_default=None, schema=S)
    op.drop_constraint("uq_tenant_credentials_tenant_id_name", "tenant_credentials", schema=S, type_="unique")
    op.create_unique_constraint(
        op.f("uq_tenant_credentials_tenant_id_sdk_name"), "tenant_credentials", ["tenant_id", "sdk", "name"],
        schema=S,
    )


def downgrade() -> None:
    # SDK-bound rows cannot be represented without the column: downgrading removes their metadata (the
    # secrets stay in the backend under erp/tenants/<slug>/sdks/...).
    op.execute(f"DELETE FROM {S}.tenant_credentials WHERE sdk <> ''")
    op.drop_constraint(
        op.f("uq_tenant_credentials_tenant_id_sdk_name"), "tenant_credentials", schema=S, type_="unique"
    )
    op.create_unique_constraint(
        op.f("uq_tenant_credentials_tenant_id_name"), "tenant_credentials", ["tenant_id", "name"], schema=S
    )
    op.drop_column("tenant_credentials", "sdk", schema=S)
