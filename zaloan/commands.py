"""Command-line commands: `flask --app app <command>`."""
from __future__ import annotations

import click
from flask import Flask

from . import accounts, audit
from .communes import create_commune
from .extensions import db
from .models import Role


def register_commands(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the demo commune is already there.")
    def demo_command(if_empty: bool):
        """Load the demo commune Xã Tân Thành (accounts use password demo-1234)."""
        from .demo import demo_loaded, load_demo

        if demo_loaded():
            if if_empty:
                click.echo("Demo commune already loaded.")
                return
            raise click.ClickException("The demo commune is already loaded.")
        load_demo()
        db.session.commit()
        click.echo("Demo commune Xã Tân Thành loaded. Log in with 0900000001 / demo-1234 (commander).")

    @app.cli.command("create-commander")
    @click.option("--phone", required=True, help="The commander's phone number.")
    @click.option("--name", required=True, help="Full name.")
    @click.option("--commune", required=True, help='Commune name, e.g. "Xã Tân Thành".')
    @click.option("--province", required=True, help='Province name, e.g. "Tỉnh Lạng Sơn".')
    @click.option("--district", default=None, help="District, only for trees that still have one.")
    @click.option("--base-url", default=None,
                  help="Address people open the app at (default: BASE_URL, else http://127.0.0.1:5000).")
    def create_commander_command(phone, name, commune, province, district, base_url):
        """Create the first commander of a commune and print their one-time activation code."""
        unit = create_commune(commune, province, district)
        try:
            user = accounts.create_user(
                by=None, phone=phone, full_name=name, role=Role.COMMANDER, commune=unit,
                position="Trưởng Công an xã",
            )
        except accounts.AccountError as exc:
            raise click.ClickException("That phone number already has an account.") from exc
        except ValueError as exc:
            raise click.ClickException("That is not a valid Vietnamese phone number.") from exc
        code = accounts.issue_activation(user, by=None)
        db.session.commit()
        base_url = (base_url or app.config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        # The path alone, joined to the address people use (no request here has a Host to trust).
        link = base_url + app.url_map.bind("localhost").build("auth.activate", {"code": code})
        click.echo(f"Commander created. Activation code (valid 72 hours, single use): {accounts.grouped_code(code)}")
        click.echo(f"Open on the commander's own phone: {link}")

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False))
    def backup_command(path):
        """Copy the SQLite database to PATH while the app keeps running (online backup)."""
        from .db_setup import BackupError, backup_sqlite

        try:
            size = backup_sqlite(db.engine, path)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Backup written to {path} ({size} bytes), integrity checked.")

    @app.cli.command("purge-photos")
    @click.option("--days", default=7, show_default=True, type=click.IntRange(min=1),
                  help="Keep unused photos younger than this many days (a form may still be open).")
    def purge_photos_command(days: int):
        """Delete photos uploaded on their own but never sent with a tip, answer or report."""
        from datetime import timedelta

        from .cases import purge_unused_photos

        count = purge_unused_photos(timedelta(days=days))
        click.echo(f"Unused photos deleted: {count} (older than {days} days).")

    @app.cli.command("audit-verify")
    def audit_verify_command():
        """Check the audit log's hash chain; name the first bad row."""
        report = audit.verify_chain()
        if report.ok:
            click.echo(f"Audit log intact: {report.count} rows.")
            return
        click.echo(f"Audit log BROKEN at row id {report.bad_id}: {report.reason}.", err=True)
        raise SystemExit(1)

    @app.cli.command("two-step-reset")
    @click.option("--phone", required=True, help="The phone number of the account.")
    def two_step_reset_command(phone):
        """Clear an account's two-step login (a commander who lost their phone and recovery codes)."""
        from sqlalchemy import select

        from . import twofactor
        from .models import User
        from .phones import PhoneError, normalize_phone

        try:
            number = normalize_phone(phone)
        except PhoneError as exc:
            raise click.ClickException("That is not a valid Vietnamese phone number.") from exc
        user = db.session.scalar(select(User).where(User.phone == number))
        if user is None or not user.two_step_on:
            raise click.ClickException("No account with two-step login on has that phone number.")
        twofactor.reset(user, by=None, reason="command")
        db.session.commit()
        click.echo("Two-step login cleared; every session of the account ended. "
                   "The person logs in with the password and sets it up again.")
