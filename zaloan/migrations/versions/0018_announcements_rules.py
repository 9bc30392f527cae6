"""Announcements to members and the public, and the model's operating rules with each member's acknowledgement.

Revision ID: 0018
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("photo_name", sa.String(length=64), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("shows_from", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_announcements_author_id_users")),
        sa.ForeignKeyConstraint(["commune_id"], ["units.id"], name=op.f("fk_announcements_commune_id_units")),
        sa.ForeignKeyConstraint(["officer_id"], ["users.id"], name=op.f("fk_announcements_officer_id_users")),
        sa.ForeignKeyConstraint(["village_id"], ["units.id"], name=op.f("fk_announcements_village_id_units")),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["users.id"],
                                name=op.f("fk_announcements_withdrawn_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
        sa.UniqueConstraint("client_key", name=op.f("uq_announcements_client_key")),
        sa.UniqueConstraint("photo_name", name=op.f("uq_announcements_photo_name")),
    )
    op.create_index(op.f("ix_announcements_author_id"), "announcements", ["author_id"])
    op.create_index(op.f("ix_announcements_commune_id"), "announcements", ["commune_id"])
    op.create_index("ix_announcements_commune_shows", "announcements", ["commune_id", "shows_from"])
    op.create_table(
        "announcement_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcements.id"],
                                name=op.f("fk_announcement_reads_announcement_id_announcements")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_announcement_reads_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement_reads")),
        sa.UniqueConstraint("announcement_id", "user_id", name=op.f("uq_announcement_reads_announcement_id")),
    )
    op.create_index(op.f("ix_announcement_reads_announcement_id"), "announcement_reads", ["announcement_id"])
    op.create_index(op.f("ix_announcement_reads_user_id"), "announcement_reads", ["user_id"])
    op.create_table(
        "rules_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_rules_versions_author_id_users")),
        sa.ForeignKeyConstraint(["commune_id"], ["units.id"], name=op.f("fk_rules_versions_commune_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules_versions")),
        sa.UniqueConstraint("client_key", name=op.f("uq_rules_versions_client_key")),
        sa.UniqueConstraint("commune_id", "number", name=op.f("uq_rules_versions_commune_id")),
    )
    op.create_index(op.f("ix_rules_versions_commune_id"), "rules_versions", ["commune_id"])
    op.create_table(
        "rules_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("acked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_rules_acks_user_id_users")),
        sa.ForeignKeyConstraint(["version_id"], ["rules_versions.id"],
                                name=op.f("fk_rules_acks_version_id_rules_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules_acks")),
        sa.UniqueConstraint("version_id", "user_id", name=op.f("uq_rules_acks_version_id")),
    )
    op.create_index(op.f("ix_rules_acks_user_id"), "rules_acks", ["user_id"])
    op.create_index(op.f("ix_rules_acks_version_id"), "rules_acks", ["version_id"])


def downgrade():
    op.drop_table("rules_acks")
    op.drop_table("rules_versions")
    op.drop_table("announcement_reads")
    op.drop_table("announcements")
