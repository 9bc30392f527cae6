"""A clock per commune that moves whenever anything an officer's queue shows changes, and the alarm's index.

`commune_clocks.version` goes up on every insert, update or delete of a tip of
the commune, of one of its villages (their officer) and categories, and of an
informant (their handler). Triggers move it, so no write can forget it. The
queue's version (and its unchanged poll) reads one row instead of counting
every tip in scope, and the rendered list is kept by that version.

On PostgreSQL the trigger first takes the commune's writers' lock (the
advisory lock of the audit chain, zaloan.audit.lock_writers) and only then the
clock's row: every writer takes the two in the same order, so they cannot
deadlock. On SQLite writers are serialised already (BEGIN IMMEDIATE).

ix_tips_alarm holds only the emergency tips nobody has opened: the alarm under
the navigation, on every page of the police, reads a few rows instead of every
tip in scope.

Revision ID: 0020
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

from zaloan.db_setup import postgresql_clock_triggers, sqlite_clock_triggers

revision = "0020"
down_revision = "0009"
branch_labels = None
depends_on = None

ALARM = "urgency = 4 AND first_read_at IS NULL"  # models.Tip.ALARM_SQL as it was
# table -> the expression naming the commune of a row (NEW/OLD substituted)
# (0026 adds announcements and rules_versions)
WATCHED = {
    "tips": "{row}.commune_id",
    "units": "{row}.parent_id",
    "categories": "{row}.commune_id",
    "informants": "{row}.commune_id",
}


def _sqlite_triggers():
    for statement in sqlite_clock_triggers(existing={"commune_clocks", *WATCHED}):
        op.execute(statement)


def _postgresql_triggers():
    op.execute("""
        CREATE FUNCTION zaloan_tick(commune integer) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            IF commune IS NULL THEN RETURN; END IF;
            PERFORM pg_advisory_xact_lock(7201, commune);
            INSERT INTO commune_clocks (commune_id, version) VALUES (commune, 1)
            ON CONFLICT (commune_id) DO UPDATE SET version = commune_clocks.version + 1;
        END $$""")
    for statement in postgresql_clock_triggers(WATCHED):
        op.execute(statement)


def upgrade():
    op.create_table(
        "commune_clocks",
        sa.Column("commune_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
    )
    op.execute("INSERT INTO commune_clocks (commune_id, version) SELECT id, 1 FROM units WHERE kind = 'commune'")
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()
    op.create_index("ix_tips_alarm", "tips", ["commune_id", "village_id"],
                    sqlite_where=sa.text(ALARM), postgresql_where=sa.text(ALARM))


def downgrade():
    op.drop_index("ix_tips_alarm", table_name="tips")
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_clock ON {table}")
            op.execute(f"DROP FUNCTION {table}_clock()")
        op.execute("DROP FUNCTION zaloan_tick(integer)")
    else:
        for table in WATCHED:
            for when in ("insert", "update", "delete", "moved"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_clock_{when}")  # a batch copy may have dropped it
    op.drop_table("commune_clocks")
