"""Indexes for the officer's queue at province size.

ix_tips_scope holds everything the queue's counts and version read of an
officer's tips (village, commune, status, last change), so they are counted
from the index alone. ix_tips_commune_scope does the same for a commander's
whole commune. The single-column indexes on status and urgency go: four
values each, they never narrow a search, and SQLite's planner took them to
avoid a sort and then read every tip of the database.

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tips_scope", "tips", ["village_id", "commune_id", "status", "updated_at"])
    op.create_index("ix_tips_commune_scope", "tips", ["commune_id", "status", "updated_at"])
    op.drop_index("ix_tips_status", table_name="tips")
    op.drop_index("ix_tips_urgency", table_name="tips")


def downgrade():
    op.create_index("ix_tips_urgency", "tips", ["urgency"])
    op.create_index("ix_tips_status", "tips", ["status"])
    op.drop_index("ix_tips_commune_scope", table_name="tips")
    op.drop_index("ix_tips_scope", table_name="tips")
