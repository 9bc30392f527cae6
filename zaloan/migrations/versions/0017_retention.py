"""Retention of closed tips' content per commune, and erasure of an informant's identity on request.

A commune keeps the content of a closed tip (text, photos, messages, free-text places and notes) for
`retention_months` after it closed; `tips.erased_at` marks a tip whose content was erased (its dates,
village, category, outcome and status stay). `users.erased_at` marks an informant whose name and phone
were erased; `identity_erasures` holds each request (the officer's) and its confirmation (the commander's).

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("commune_settings", sa.Column("retention_months", sa.Integer(), nullable=False,
                                                server_default="24"))
    op.add_column("tips", sa.Column("erased_at", sa.DateTime(), nullable=True))
    op.add_column("users", sa.Column("erased_at", sa.DateTime(), nullable=True))
    op.create_table(
        "identity_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("informant_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["commune_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["informant_id"], ["informants.id"]),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_identity_erasures_commune_id", "identity_erasures", ["commune_id"])
    op.create_index("ix_identity_erasures_informant_id", "identity_erasures", ["informant_id"])


def downgrade():
    op.drop_index("ix_identity_erasures_informant_id", table_name="identity_erasures")
    op.drop_index("ix_identity_erasures_commune_id", table_name="identity_erasures")
    op.drop_table("identity_erasures")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("commune_settings", schema=None) as batch_op:
        batch_op.drop_column("retention_months")
