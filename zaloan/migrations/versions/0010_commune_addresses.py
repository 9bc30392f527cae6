"""Communes side by side: each commune's own address for anonymous tips, informant aliases numbered per commune.

Revision ID: 0010
Revises: 0008
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def slug_of(name: str) -> str:
    """The same folding as zaloan.communes.slug_for, frozen here as it was when this migration was written."""
    text = re.sub(r"^\s*(xã|phường|thị trấn|đặc khu)\s+", "", name.strip(), flags=re.I)
    text = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:48] or "xa"


def upgrade():
    op.add_column("units", sa.Column("slug", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_units_slug"), "units", ["slug"], unique=True)
    units = sa.table("units", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                     sa.column("name", sa.String), sa.column("slug", sa.String))
    conn = op.get_bind()
    taken = set()
    for unit_id, name in conn.execute(sa.select(units.c.id, units.c.name).where(units.c.kind == "commune")
                                      .order_by(units.c.id)).all():
        slug, n = slug_of(name), 2
        while slug in taken:
            slug, n = f"{slug_of(name)}-{n}", n + 1
        taken.add(slug)
        conn.execute(units.update().where(units.c.id == unit_id).values(slug=slug))
    with op.batch_alter_table("informants", schema=None) as batch_op:
        batch_op.drop_constraint("uq_informants_alias", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_informants_commune_id"), ["commune_id", "alias"])


def downgrade():
    with op.batch_alter_table("informants", schema=None) as batch_op:
        batch_op.drop_constraint("uq_informants_commune_id", type_="unique")
        batch_op.create_unique_constraint("uq_informants_alias", ["alias"])
    op.drop_index(op.f("ix_units_slug"), table_name="units")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_column("slug")
