"""The province administrator creates communes in the browser: a commune remembers the key of the form that made it.

Revision ID: 0012
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("units", sa.Column("client_key", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_units_client_key"), "units", ["client_key"], unique=True)


def downgrade():
    op.drop_index(op.f("ix_units_client_key"), table_name="units")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_column("client_key")
