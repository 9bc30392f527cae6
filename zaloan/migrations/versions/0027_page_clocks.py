"""The commune's clock also moves with everything a tip's page and the people list show.

A tip's page (its thread, photos, voice notes, tasks, reports, timeline, the
verifiers on offer, the deadline's rules) and the people list (names, roles,
villages, watch points and posts) are kept by the commune's clock like the
queue's list: so every insert, update or delete of those rows moves it too,
whichever code makes it. A row's commune is found through the row it belongs
to (zaloan.db_setup.TIP_AND_PEOPLE_WATCHED). The functions follow 0020's: the
commune's writers' lock first, then the clock's row.

Revision ID: 0027
Revises: 0026
"""
from alembic import op

from zaloan.db_setup import TIP_AND_PEOPLE_WATCHED, postgresql_clock_triggers, sqlite_clock_triggers

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        for statement in sqlite_clock_triggers(existing={"commune_clocks", *TIP_AND_PEOPLE_WATCHED}):
            op.execute(statement)
        return
    for statement in postgresql_clock_triggers(TIP_AND_PEOPLE_WATCHED):
        op.execute(statement)


def downgrade():
    for table in TIP_AND_PEOPLE_WATCHED:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER {table}_clock ON {table}")
            op.execute(f"DROP FUNCTION {table}_clock()")
        else:
            for when in ("insert", "update", "delete", "moved"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_clock_{when}")
