"""A clock per person that moves whenever what every page of theirs shows about them changes.

`user_clocks.version` goes up on every insert, update or delete of a person's
notifications, announcement reads and agreements to the rules. The commune's
clock (0020) now also moves with the commune's announcements and rules
versions. The header's count, the rules reminder and the announcements of a
member's home are kept by the two clocks, read with the session: a page whose
person and commune did not change reads none of them again.

On PostgreSQL the trigger first takes the writers' lock of the person's
commune (the advisory lock of the audit chain, zaloan.audit.lock_writers) and
only then the clock's row, the order every writer of the commune follows, so
two writers cannot deadlock on a person's clock.

Revision ID: 0026
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

from zaloan.db_setup import postgresql_clock_triggers, sqlite_clock_triggers

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

COMMUNE_WATCHED = {"announcements": "{row}.commune_id", "rules_versions": "{row}.commune_id"}
USER_WATCHED = {
    "notifications": "{row}.user_id",
    "announcement_reads": "{row}.user_id",
    "rules_acks": "{row}.user_id",
}


def _postgresql_triggers():
    op.execute("""
        CREATE FUNCTION zaloan_tick_user(person integer) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE commune integer;
        BEGIN
            IF person IS NULL THEN RETURN; END IF;
            SELECT commune_id INTO commune FROM users WHERE id = person;
            PERFORM pg_advisory_xact_lock(7201, COALESCE(commune, 0));
            INSERT INTO user_clocks (user_id, version) VALUES (person, 1)
            ON CONFLICT (user_id) DO UPDATE SET version = user_clocks.version + 1;
        END $$""")
    for statement in [*postgresql_clock_triggers(COMMUNE_WATCHED),
                      *postgresql_clock_triggers(USER_WATCHED, tick="zaloan_tick_user", name="user_clock")]:
        op.execute(statement)


def upgrade():
    op.create_table(
        "user_clocks",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        for statement in sqlite_clock_triggers(existing={"commune_clocks", "user_clocks", *COMMUNE_WATCHED,
                                                         *USER_WATCHED}):
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in COMMUNE_WATCHED:
            op.execute(f"DROP TRIGGER {table}_clock ON {table}")
            op.execute(f"DROP FUNCTION {table}_clock()")
        for table in USER_WATCHED:
            op.execute(f"DROP TRIGGER {table}_user_clock ON {table}")
            op.execute(f"DROP FUNCTION {table}_user_clock()")
        op.execute("DROP FUNCTION zaloan_tick_user(integer)")
    else:
        for table in COMMUNE_WATCHED:
            for when in ("insert", "update", "delete", "moved"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_clock_{when}")
        for table in USER_WATCHED:
            for when in ("insert", "update", "delete", "moved"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_user_clock_{when}")
    op.drop_table("user_clocks")
