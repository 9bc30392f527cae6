"""The village security survey keeps every save as a version (who, when), by period, with its assessment.

Revision ID: 0022
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("village_surveys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_village_surveys_village_id", type_="unique")
        batch_op.add_column(sa.Column("commune_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("period", sa.String(length=8), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("strengths", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("weaknesses", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_village_surveys_commune_id_units"), "units", ["commune_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_village_surveys_commune_id"), ["commune_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_village_surveys_client_key"), ["client_key"])
        batch_op.create_unique_constraint(batch_op.f("uq_village_surveys_village_id"),
                                          ["village_id", "period", "version"])
    # A survey saved before versions: its year is its period, version 1, the commune its village's.
    op.execute("UPDATE village_surveys SET period = CAST(year AS VARCHAR(8)) WHERE period = ''")
    op.execute("UPDATE village_surveys SET commune_id = (SELECT parent_id FROM units WHERE units.id = village_id)")


def downgrade():
    # The older table keeps one survey a village and year: the newest version of each stays.
    op.execute("DELETE FROM village_surveys WHERE id NOT IN "
               "(SELECT keep FROM (SELECT MAX(id) AS keep FROM village_surveys GROUP BY village_id, year) AS newest)")
    with op.batch_alter_table("village_surveys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_village_surveys_village_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_village_surveys_client_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_village_surveys_commune_id"))
        batch_op.drop_constraint(batch_op.f("fk_village_surveys_commune_id_units"), type_="foreignkey")
        for column in ("content_hash", "client_key", "weaknesses", "strengths", "version", "period", "commune_id"):
            batch_op.drop_column(column)
        batch_op.create_unique_constraint("uq_village_surveys_village_id", ["village_id", "year"])
