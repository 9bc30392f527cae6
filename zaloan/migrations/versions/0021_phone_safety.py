"""A phone that does not betray its owner: the informant's PIN, each session's last activity, the commune's app name.

Revision ID: 0021
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "phone_locks",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=False),
        sa.Column("idle_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_phone_locks_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_phone_locks")),
    )
    op.create_table(
        "session_locks",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("active_at", sa.DateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["user_sessions.id"],
                                name=op.f("fk_session_locks_session_id_user_sessions")),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_locks")),
    )
    with op.batch_alter_table("commune_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notebook_name", sa.String(length=40), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("commune_settings", schema=None) as batch_op:
        batch_op.drop_column("notebook_name")
    op.drop_table("session_locks")
    op.drop_table("phone_locks")
