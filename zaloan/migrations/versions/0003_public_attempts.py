"""Counters for the forms open to anyone: anonymous tips sent, wrong follow-up codes tried.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "public_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_attempts")),
    )
    op.create_index(op.f("ix_public_attempts_created_at"), "public_attempts", ["created_at"])
    op.create_index("ix_public_attempts_kind_client", "public_attempts", ["kind", "client_key", "created_at"])


def downgrade():
    op.drop_index("ix_public_attempts_kind_client", table_name="public_attempts")
    op.drop_index(op.f("ix_public_attempts_created_at"), table_name="public_attempts")
    op.drop_table("public_attempts")
