"""Voice notes on tips, answers and verification reports.

Revision ID: 0024
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "voice_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("uploader_id", sa.Integer(), nullable=True),
        sa.Column("storage_name", sa.String(length=64), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("summary_by_id", sa.Integer(), nullable=True),
        sa.Column("summary_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_voice_notes_tip_id_tips")),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_voice_notes_message_id_messages")),
        sa.ForeignKeyConstraint(["assignment_id"], ["task_assignments.id"],
                                name=op.f("fk_voice_notes_assignment_id_task_assignments")),
        sa.ForeignKeyConstraint(["uploader_id"], ["users.id"], name=op.f("fk_voice_notes_uploader_id_users")),
        sa.ForeignKeyConstraint(["summary_by_id"], ["users.id"], name=op.f("fk_voice_notes_summary_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_notes")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_voice_notes_storage_name")),
        sa.UniqueConstraint("client_key", name=op.f("uq_voice_notes_client_key")),
    )
    op.create_index(op.f("ix_voice_notes_tip_id"), "voice_notes", ["tip_id"])
    op.create_index(op.f("ix_voice_notes_message_id"), "voice_notes", ["message_id"])
    op.create_index(op.f("ix_voice_notes_assignment_id"), "voice_notes", ["assignment_id"])


def downgrade():
    op.drop_table("voice_notes")
