"""The commune report's settings: the day the model was launched, and after how many days an open tip counts as old.

ix_tips_commune_created finds a commune's tips received in a period (the report's every figure) as one range.

Revision ID: 0013
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("commune_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("launched_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("old_open_days", sa.Integer(), nullable=False, server_default="20"))
    op.create_index("ix_tips_commune_created", "tips", ["commune_id", "created_at"])


def downgrade():
    op.drop_index("ix_tips_commune_created", table_name="tips")
    with op.batch_alter_table("commune_settings", schema=None) as batch_op:
        batch_op.drop_column("old_open_days")
        batch_op.drop_column("launched_on")
