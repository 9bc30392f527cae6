"""Shared fixtures: an app on a fresh copy of the demo commune, a client, a login helper."""
from __future__ import annotations

import re
import shutil

import pytest
from flask_migrate import upgrade

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
}
PASSWORD = "demo-1234"


def make_app(tmp_path, database_uri, **config):
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "WTF_CSRF_ENABLED": False,
    }
    settings.update(config)
    return create_app(settings)


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory):
    """Build the demo database once (migrations + demo data); each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "demo.sqlite"
    app = make_app(path.parent, f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        from zaloan.demo import load_demo

        load_demo()
        db.session.commit()
        db.engine.dispose()
    return path


@pytest.fixture
def app_config():
    """Extra config for the app fixture; override in a test module to change settings."""
    return {}


@pytest.fixture
def app(tmp_path, demo_db_file, app_config):
    path = tmp_path / "zaloan.sqlite"
    shutil.copy(demo_db_file, path)
    app = make_app(tmp_path, f"sqlite:///{path}", **app_config)
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
