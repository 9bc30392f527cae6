"""Take-over of an account in use: the reason, the notice to the person, the sessions it ended.

Revision ID: 0008
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_takeovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("lost_phone", sa.Boolean(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("activated_at", sa.DateTime(), nullable=True),
        sa.Column("notice_seen_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_account_takeovers_by_id_users")),
        sa.ForeignKeyConstraint(["code_id"], ["activation_codes.id"],
                                name=op.f("fk_account_takeovers_code_id_activation_codes")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_takeovers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_takeovers")),
        sa.UniqueConstraint("code_id", name=op.f("uq_account_takeovers_code_id")),
    )
    op.create_index(op.f("ix_account_takeovers_user_id"), "account_takeovers", ["user_id"])
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_reason", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("revoked_reason")
    op.drop_index(op.f("ix_account_takeovers_user_id"), table_name="account_takeovers")
    op.drop_table("account_takeovers")
