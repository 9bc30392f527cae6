"""One audit chain per commune (and one for the deployment), each with its own lock and checkpoints.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    # In place (never a batch copy): audit_events keeps its append-only triggers.
    # Rows written before keep chain NULL: the single chain they formed stays as it is,
    # and each commune's chain starts from its last row (see zaloan.audit).
    op.add_column("audit_events", sa.Column("chain", sa.Integer(), nullable=True))
    op.create_index("ix_audit_events_chain_id", "audit_events", ["chain", "id"])
    op.add_column("audit_checkpoints", sa.Column("chain", sa.Integer(), nullable=True))
    op.create_index("ix_audit_checkpoints_chain_id", "audit_checkpoints", ["chain", "id"])


def downgrade():
    # Rows of the per-commune chains cannot be checked by the code before this revision.
    op.drop_index("ix_audit_checkpoints_chain_id", table_name="audit_checkpoints")
    op.drop_column("audit_checkpoints", "chain")
    op.drop_index("ix_audit_events_chain_id", table_name="audit_events")
    op.drop_column("audit_events", "chain")
