"""The standing channel between each informant and the commune police: its messages.

Revision ID: 0023
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "channel_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("informant_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("from_police", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_request", sa.Boolean(), nullable=False),
        sa.Column("watch_point_id", sa.Integer(), nullable=True),
        sa.Column("place_text", sa.String(length=200), nullable=False),
        sa.Column("window_from", sa.DateTime(), nullable=True),
        sa.Column("window_to", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("reply_to_id", sa.Integer(), nullable=True),
        sa.Column("tip_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_channel_messages_author_id_users")),
        sa.ForeignKeyConstraint(["commune_id"], ["units.id"], name=op.f("fk_channel_messages_commune_id_units")),
        sa.ForeignKeyConstraint(["informant_id"], ["informants.id"],
                                name=op.f("fk_channel_messages_informant_id_informants")),
        sa.ForeignKeyConstraint(["reply_to_id"], ["channel_messages.id"],
                                name=op.f("fk_channel_messages_reply_to_id_channel_messages")),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_channel_messages_tip_id_tips")),
        sa.ForeignKeyConstraint(["watch_point_id"], ["watch_points.id"],
                                name=op.f("fk_channel_messages_watch_point_id_watch_points")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_messages")),
        sa.UniqueConstraint("client_key", name=op.f("uq_channel_messages_client_key")),
        sa.UniqueConstraint("tip_id", name=op.f("uq_channel_messages_tip_id")),
    )
    op.create_index(op.f("ix_channel_messages_commune_id"), "channel_messages", ["commune_id"])
    op.create_index(op.f("ix_channel_messages_informant_id"), "channel_messages", ["informant_id"])


def downgrade():
    op.drop_index(op.f("ix_channel_messages_informant_id"), table_name="channel_messages")
    op.drop_index(op.f("ix_channel_messages_commune_id"), table_name="channel_messages")
    op.drop_table("channel_messages")
