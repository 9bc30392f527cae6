"""The yearly review's judgement sections, saved as versions (who, when) per commune and period.

Revision ID: 0025
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "review_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("strengths", sa.Text(), nullable=False),
        sa.Column("weaknesses", sa.Text(), nullable=False),
        sa.Column("causes", sa.Text(), nullable=False),
        sa.Column("directions", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["commune_id"], ["units.id"], name=op.f("fk_review_drafts_commune_id_units")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_review_drafts_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_drafts")),
        sa.UniqueConstraint("client_key", name=op.f("uq_review_drafts_client_key")),
        sa.UniqueConstraint("commune_id", "period_start", "period_end", "version",
                            name=op.f("uq_review_drafts_commune_id")),
    )
    op.create_index(op.f("ix_review_drafts_commune_id"), "review_drafts", ["commune_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_review_drafts_commune_id"), table_name="review_drafts")
    op.drop_table("review_drafts")
