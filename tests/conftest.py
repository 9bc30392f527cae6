"""Shared fixtures: an app on a fresh copy of the demo commune, a client, a login helper.

The database is SQLite by default, PostgreSQL when ZALOAN_TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import itertools
import os
import re
import shutil

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from zaloan import create_app
from zaloan.extensions import db
from zaloan.models import User

# The demo accounts (README), by the name tests use for them.
PHONES = {
    "commander": "0900000001",
    "officer": "0900000002",
    "officer2": "0900000003",
    "informant": "0900000010",
    "informant2": "0900000011",
    "verifier": "0900000020",
    "verifier2": "0900000021",
    "observer": "0900000030",
    "province_admin": "0900000040",
}
PASSWORD = "demo-1234"
# The tests' audit key: set, so no test makes a key file in the code's instance/ folder.
AUDIT_KEY = "test-audit-key-0123456789abcdef0123456789"

# Set by scripts/test.sh for the PostgreSQL run, e.g.
# postgresql+psycopg://postgres@127.0.0.1:5433/zaloan_test; unset means SQLite files.
TEST_DATABASE_URL = os.environ.get("ZALOAN_TEST_DATABASE_URL")


def make_app(tmp_path, database_uri, **config):
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "WTF_CSRF_ENABLED": False,
        "AUDIT_KEY": AUDIT_KEY,
        "AUDIT_KEY_FILE": str(tmp_path / "audit.key"),
        "AUDIT_CHECKPOINT_FILE": str(tmp_path / "audit-checkpoints.txt"),
    }
    settings.update(config)
    return create_app(settings)


class SQLiteDatabases:
    """Test databases as SQLite files: the migrated demo commune is built once, each test gets a copy."""

    dialect = "sqlite"

    def __init__(self, root):
        self.root = root
        self.template = root / "demo.sqlite"
        build_demo(root, f"sqlite:///{self.template}")

    def fresh(self, tmp_path) -> str:
        path = tmp_path / "zaloan.sqlite"
        shutil.copy(self.template, path)
        return f"sqlite:///{path}"

    def empty(self, tmp_path) -> str:
        return f"sqlite:///{tmp_path / 'empty.sqlite'}"

    def drop(self, url: str) -> None:
        """Nothing to do: the file goes with the test's temporary folder."""

    def close(self) -> None:
        pass


class PostgresDatabases:
    """Test databases on a PostgreSQL server (ZALOAN_TEST_DATABASE_URL).

    The migrated demo commune is built once as a template database; each test
    gets `CREATE DATABASE ... TEMPLATE`, which copies it in a few milliseconds,
    and the database is dropped after the test.
    """

    dialect = "postgresql"
    TEMPLATE = "zaloan_template"

    def __init__(self, url: str, root):
        self.url = make_url(url)
        # The database named in the URL is only used to create and drop the others.
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.count = itertools.count(1)
        self.prefix = f"zaloan_t{os.getpid()}_"
        self._drop_quietly(self.TEMPLATE)
        self._execute(f"CREATE DATABASE {self.TEMPLATE} TEMPLATE template0 ENCODING 'UTF8'")
        build_demo(root, self._url_of(self.TEMPLATE))

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def _url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _drop_quietly(self, name: str) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _new_name(self) -> str:
        return f"{self.prefix}{next(self.count)}"

    def fresh(self, tmp_path) -> str:
        name = self._new_name()
        self._execute(f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE}")
        return self._url_of(name)

    def empty(self, tmp_path) -> str:
        name = self._new_name()
        self._execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        return self._url_of(name)

    def drop(self, url: str) -> None:
        self._drop_quietly(make_url(url).database)

    def close(self) -> None:
        self._drop_quietly(self.TEMPLATE)
        self.admin.dispose()


def build_demo(folder, database_uri: str) -> None:
    """Migrate a new database and load the demo commune into it."""
    app = make_app(folder, database_uri)
    with app.app_context():
        upgrade()
        from zaloan.demo import load_demo

        load_demo()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """Where the tests' databases live: SQLite files, or PostgreSQL when ZALOAN_TEST_DATABASE_URL is set."""
    root = tmp_path_factory.mktemp("template")
    backend = PostgresDatabases(TEST_DATABASE_URL, root) if TEST_DATABASE_URL else SQLiteDatabases(root)
    yield backend
    backend.close()


@pytest.fixture
def database_url(databases, tmp_path):
    """A fresh copy of the demo commune's database, for this test alone."""
    url = databases.fresh(tmp_path)
    yield url
    databases.drop(url)


@pytest.fixture
def empty_database_url(databases, tmp_path):
    """An empty database (no tables) on the backend under test."""
    url = databases.empty(tmp_path)
    yield url
    databases.drop(url)


@pytest.fixture
def app_config():
    """Extra config for the app fixture; override in a test module to change settings."""
    return {}


@pytest.fixture
def app(tmp_path, database_url, app_config):
    app = make_app(tmp_path, database_url, **app_config)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login_as(app):
    """Return a function that logs a new client in as a demo account (by its name in PHONES)."""

    def _login(who: str, password: str = PASSWORD):
        c = app.test_client()
        r = c.post("/login", data={"phone": PHONES.get(who, who), "password": password})
        assert r.status_code == 302, f"login as {who} failed: {r.status_code}"
        return c

    return _login


@pytest.fixture
def user(app):
    """Return a function that loads a demo account by its name in PHONES."""
    from zaloan.phones import normalize_phone

    def _user(who: str) -> User:
        return db.session.scalar(db.select(User).where(User.phone == normalize_phone(PHONES.get(who, who))))

    return _user


@pytest.fixture
def ctx(app):
    """An application context for tests that use the database directly."""
    with app.app_context():
        yield


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)
