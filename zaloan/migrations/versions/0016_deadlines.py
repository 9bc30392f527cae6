"""Deadlines and escalation: a tip's handling deadline, categories' limits, extensions, escalations.

Revision ID: 0016
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("commune_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency_unread_minutes", sa.Integer(), nullable=False, server_default="10"))
        batch_op.add_column(sa.Column("accept_hours", sa.Integer(), nullable=False, server_default="24"))
    # Tips received before keep no deadline until the sweep (flask deadlines run) gives them one.
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deadline_at", sa.DateTime(), nullable=True))
    op.create_table(
        "category_limits",
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("crime", sa.Boolean(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"],
                                name=op.f("fk_category_limits_category_id_categories")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_category_limits_updated_by_id_users")),
        sa.PrimaryKeyConstraint("category_id", name=op.f("pk_category_limits")),
    )
    op.create_table(
        "deadline_extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("old_deadline", sa.DateTime(), nullable=False),
        sa.Column("new_deadline", sa.DateTime(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_deadline_extensions_by_id_users")),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_deadline_extensions_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_extensions")),
        sa.UniqueConstraint("client_key", name=op.f("uq_deadline_extensions_client_key")),
        sa.UniqueConstraint("tip_id", "number", name=op.f("uq_deadline_extensions_tip_id")),
    )
    op.create_index(op.f("ix_deadline_extensions_tip_id"), "deadline_extensions", ["tip_id"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=200), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["units.id"], name=op.f("fk_escalations_commune_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("key", name=op.f("uq_escalations_key")),
    )
    op.create_index(op.f("ix_escalations_commune_id"), "escalations", ["commune_id"])
    op.create_index(op.f("ix_escalations_created_at"), "escalations", ["created_at"])


def downgrade():
    op.drop_index(op.f("ix_escalations_created_at"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_commune_id"), table_name="escalations")
    op.drop_table("escalations")
    op.drop_index(op.f("ix_deadline_extensions_tip_id"), table_name="deadline_extensions")
    op.drop_table("deadline_extensions")
    op.drop_table("category_limits")
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.drop_column("deadline_at")
    with op.batch_alter_table("commune_settings", schema=None) as batch_op:
        batch_op.drop_column("accept_hours")
        batch_op.drop_column("emergency_unread_minutes")
