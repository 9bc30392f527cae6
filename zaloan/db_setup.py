"""Database engine settings: SQLite tuned for a multi-process server."""
from flask import Flask, has_request_context, request
from sqlalchemy import event

from .extensions import db

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=FULL",
)


def _wants_write_lock() -> bool:
    """Return True when this transaction may write: any non-GET request, any command."""
    if not has_request_context():
        return True
    return request.method not in ("GET", "HEAD", "OPTIONS")


def configure_engine(app: Flask) -> None:
    """Attach SQLite pragmas and up-front write locks to the app's engine."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, say when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A write transaction takes the write lock at BEGIN, so it never fails
        # later on a lock upgrade ("database is locked") under several workers.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")
