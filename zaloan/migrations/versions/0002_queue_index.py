"""An index for the officer's queue.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tips_queue", "tips", ["village_id", "status", "urgency", "created_at"])


def downgrade():
    op.drop_index("ix_tips_queue", table_name="tips")
