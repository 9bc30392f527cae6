"""Indexes for the officer's queue at province size.

ix_tips_scope holds what the queue's counts and version read of the tips in
scope (commune, village, status, last change): each of an officer's villages
is one range of it, a commander's commune one range (counted from the index
alone). The single-column indexes on status and urgency go: four values
each, they never narrow a search, and SQLite's planner took them to avoid a
sort and then read every tip of the database.

Revision ID: 0009
Revises: 0012
"""
from alembic import op

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tips_scope", "tips", ["commune_id", "village_id", "status", "updated_at"])
    op.drop_index("ix_tips_status", table_name="tips")
    op.drop_index("ix_tips_urgency", table_name="tips")


def downgrade():
    op.create_index("ix_tips_urgency", "tips", ["urgency"])
    op.create_index("ix_tips_status", "tips", ["status"])
    op.drop_index("ix_tips_scope", table_name="tips")
