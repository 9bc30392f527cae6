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

    def account_with_code(fields: dict, base_url: str | None) -> tuple[str, str]:
        """Create an account from the command line; commit; return its one-time code and activation link."""
        try:
            user = accounts.create_user(by=None, **fields)
        except accounts.AccountError as exc:
            raise click.ClickException("That phone number already has an account.") from exc
        except ValueError as exc:
            raise click.ClickException("That is not a valid Vietnamese phone number.") from exc
        code = accounts.issue_activation(user, by=None)
        db.session.commit()
        base_url = (base_url or app.config.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        # The path alone, joined to the address people use (no request here has a Host to trust).
        return code, base_url + app.url_map.bind("localhost").build("auth.activate", {"code": code})

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
        code, link = account_with_code(dict(phone=phone, full_name=name, role=Role.COMMANDER, commune=unit,
                                            position="Trưởng Công an xã"), base_url)
        click.echo(f"Commander created. Activation code (valid 72 hours, single use): {accounts.grouped_code(code)}")
        click.echo(f"Open on the commander's own phone: {link}")

    @app.cli.command("create-province-admin")
    @click.option("--province", required=True, help='Province name, e.g. "Tỉnh Lạng Sơn".')
    @click.option("--phone", required=True, help="The administrator's phone number.")
    @click.option("--name", required=True, help="Full name.")
    @click.option("--base-url", default=None,
                  help="Address people open the app at (default: BASE_URL, else http://127.0.0.1:5000).")
    def create_province_admin_command(province, phone, name, base_url):
        """Create a province administrator (Công an tỉnh) and print their one-time activation code.

        They then create the province's communes, their commanders and observers in the browser.
        """
        from .communes import get_or_create_unit
        from .models import UnitKind

        if not province.strip() or not name.strip():
            raise click.ClickException("The province and the name must not be empty.")
        unit = get_or_create_unit(" ".join(province.split()), UnitKind.PROVINCE, None)
        code, link = account_with_code(dict(phone=phone, full_name=name, role=Role.PROVINCE_ADMIN, commune=unit,
                                            position="Công an tỉnh (PV05)"), base_url)
        click.echo(f"Province administrator of {unit.name} created. "
                   f"Activation code (valid 72 hours, single use): {accounts.grouped_code(code)}")
        click.echo(f"Open on the administrator's own phone: {link}")

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False))
    def backup_command(path):
        """Write one archive to PATH: database snapshot, its photos, audit checkpoint, manifest (see zaloan.backup).

        Encrypted when a backup key is configured (BACKUP_KEY or instance/backup.key).
        A PATH ending in .sqlite keeps the older form: a plain copy of the SQLite database.
        """
        from .backup import BackupError, backup_key, make_backup

        if path.endswith(".sqlite"):
            legacy_sqlite_copy(path)
            return
        try:
            summary = make_backup(path, backup_key(app.config))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        counts = summary.counts
        click.echo(f"Backup archive written to {summary.path} ({summary.size} bytes, "
                   f"{'encrypted' if summary.encrypted else 'NOT encrypted: no backup key configured'}): "
                   f"{counts.get('tips', 0)} tips, {counts.get('users', 0)} accounts, "
                   f"{counts.get('audit_events', 0)} audit rows, {summary.files} photos.")
        if summary.missing:
            click.echo(f"{len(summary.missing)} photos named by the database were not in the store (deleted since, "
                       "or lost): " + ", ".join(summary.missing[:10]), err=True)
        line = "\n".join(summary.checkpoints)
        beside = audit.append_checkpoint(line, str(summary.path) + ".checkpoint")
        audit.append_checkpoint(line)
        click.echo(f"Audit checkpoints written to {beside}:\n{line}")

    def legacy_sqlite_copy(path):
        """The older backup: a plain copy of the live SQLite database with a checkpoint beside it."""
        from .db_setup import BackupError, backup_sqlite

        checkpoint = None
        if db.engine.dialect.name == "sqlite":
            # The head of the chain before the copy: the backup holds at least these rows.
            checkpoint = "\n".join(audit.checkpoint_line(cp) for cp in audit.take_checkpoints("backup"))
            db.session.commit()
        try:
            size = backup_sqlite(db.engine, path)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Backup written to {path} ({size} bytes), integrity checked. It holds the database only: "
                   "a name without .sqlite writes one archive with the photos too (flask restore reads it).")
        if checkpoint is not None:
            beside = audit.append_checkpoint(checkpoint, path + ".checkpoint")
            audit.append_checkpoint(checkpoint)
            click.echo(f"Audit checkpoints written to {beside}:\n{checkpoint}")

    @app.cli.command("restore")
    @click.argument("archive", type=click.Path(dir_okay=False))
    @click.option("--check", is_flag=True, help="Only check the archive (key, checksums); restore nothing.")
    def restore_command(archive, check):
        """Restore a backup archive into this EMPTY instance, then check the audit chain and the photos."""
        from .backup import BackupError, archive_manifest, backup_key, restore_backup

        try:
            key = backup_key(app.config)
            if check:
                manifest = archive_manifest(archive, key)
                counts = manifest.get("counts", {})
                click.echo(f"Archive intact: {manifest['database']} database of {manifest['created_at']}, "
                           f"{counts.get('tips', 0)} tips, {manifest['photos']['copied']} photos, "
                           f"{len(manifest['members'])} members match their checksums.")
                return
            report = restore_backup(archive, key)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        counts = report.counts
        click.echo(f"Restored: {counts.get('tips', 0)} tips, {counts.get('users', 0)} accounts, "
                   f"{counts.get('attachments', 0)} photo rows, {report.files} photo files, "
                   f"{counts.get('audit_events', 0)} audit rows (schema revision {report.schema_revision}).")
        if report.chain.ok:
            click.echo(f"Audit log intact: {report.chain.count} rows; {report.chain.checkpoints} checkpoints hold, "
                       "the archive's included.")
        else:
            click.echo(f"Audit log BROKEN: {report.chain.reason}.", err=True)
        if report.missing_files:
            click.echo(f"{len(report.missing_files)} photo rows have no file: "
                       + ", ".join(report.missing_files[:10]), err=True)
        else:
            click.echo("Every photo row has its file.")
        if not report.ok:
            raise SystemExit(1)
        click.echo("Run `flask db upgrade` if this code is newer than the backup, then start the service.")

    from flask.cli import AppGroup

    retention_group = AppGroup("retention", help="Keep the content of closed tips and the informants' conversations only as long as each commune set.")
    app.cli.add_command(retention_group)

    @retention_group.command("run")
    @click.option("--dry-run", is_flag=True, help="Only count what would be erased.")
    def retention_run_command(dry_run):
        """Erase the content of closed tips kept longer than their commune's retention time (run it nightly)."""
        from . import retention
        from .models import Unit

        done = retention.run(dry_run=dry_run)
        if not done:
            click.echo("Nothing to erase: no closed tip or conversation message is past its commune's "
                       "retention time.")
        for commune_id, n in done.items():
            name = db.session.get(Unit, commune_id).name
            if dry_run:
                click.echo(f"{name}: {n.tips} closed tips and {n.conversation} conversation messages are past "
                           "the retention time (nothing erased: --dry-run).")
            else:
                click.echo(f"{name}: content of {n.tips} closed tips erased ({n.photos} photos, "
                           f"{n.messages} messages), {n.conversation} conversation messages deleted; "
                           "recorded in the audit log.")

    @app.cli.command("purge-photos")
    @click.option("--days", default=7, show_default=True, type=click.IntRange(min=1),
                  help="Keep unused photos younger than this many days (a form may still be open).")
    def purge_photos_command(days: int):
        """Delete photos and voice notes uploaded on their own but never sent with a tip, answer or report."""
        from datetime import timedelta

        from .cases import purge_unused_photos
        from .voice import purge_unused

        count = purge_unused_photos(timedelta(days=days))
        click.echo(f"Unused photos deleted: {count} (older than {days} days).")
        count = purge_unused(timedelta(days=days))
        click.echo(f"Unused voice notes deleted: {count} (older than {days} days).")

    @app.cli.command("reconcile-files")
    @click.option("--hours", default=24, show_default=True, type=click.IntRange(min=1),
                  help="Keep files without a row younger than this many hours (a send may still be on its way).")
    @click.option("--dry-run", is_flag=True, help="Report only; remove nothing.")
    def reconcile_files_command(hours: int, dry_run: bool):
        """Match stored photo files against the database: remove files without a row, report rows without a file."""
        from datetime import timedelta

        from .faults import reconcile_files
        from .storage import StorageError

        try:
            found = reconcile_files(timedelta(hours=hours), dry_run=dry_run)
        except StorageError as exc:
            raise click.ClickException(f"The photo store cannot be read: {exc}") from exc
        verb = "would be removed" if dry_run else "removed"
        click.echo(f"Files without a photo row: {len(found.removed)} {verb} (older than {hours} hours), "
                   f"{len(found.young)} younger kept.")
        for name in found.removed:
            click.echo(f"  {verb}: {name}")
        click.echo(f"Photo rows without their file: {len(found.missing)}.")
        for attachment_id, name, owner in found.missing:
            click.echo(f"  MISSING: photo {attachment_id} ({owner}): {name}", err=True)

    @app.cli.command("audit-verify")
    @click.option("--checkpoint", "files", multiple=True, type=click.Path(exists=True, dir_okay=False),
                  help="A checkpoint file (from audit-checkpoint or backup): the log must still hold what it records.")
    def audit_verify_command(files):
        """Check the audit log's chain and keys against the stored checkpoints (and FILEs); name the first fault."""
        wanted = []
        for name in files:
            try:
                wanted += [(cp, name) for cp in audit.read_checkpoint_file(name)]
            except (ValueError, UnicodeDecodeError) as exc:
                click.echo(f"Audit log NOT VERIFIED: {exc}.", err=True)
                raise SystemExit(1) from exc
        report = audit.verify_chain(wanted)
        if report.ok:
            old = f", {report.legacy} of them from before the audit key (plain SHA-256)" if report.legacy else ""
            click.echo(f"Audit log intact: {report.count} rows{old}; {report.checkpoints} checkpoints hold.")
            return
        where = f" at row id {report.bad_id}" if report.kind != "checkpoint" and report.bad_id else ""
        click.echo(f"Audit log BROKEN{where}: {report.reason}.", err=True)
        raise SystemExit(1)

    @app.cli.command("audit-checkpoint")
    @click.option("--out", type=click.Path(dir_okay=False),
                  help="The file to append the checkpoint to (default: AUDIT_CHECKPOINT_FILE, instance/audit-checkpoints.txt).")
    def audit_checkpoint_command(out):
        """Check the chain, then write down its head (rows, last id, hash), sealed with the audit key."""
        report = audit.verify_chain()
        if not report.ok:
            click.echo(f"No checkpoint taken: the audit log is BROKEN: {report.reason}.", err=True)
            raise SystemExit(1)
        line = "\n".join(audit.checkpoint_line(cp) for cp in audit.take_checkpoints("command"))
        db.session.commit()
        path = audit.append_checkpoint(line, out)
        click.echo(f"Checkpoints (one a chain: each commune's, and 0 for the deployment's) appended to {path}:")
        click.echo(line)

    @app.cli.command("audit-rotate-key")
    def audit_rotate_key_command():
        """Retire the audit key (kept as audit.key.old-ID to check older rows) and seal new rows with a new one."""
        from .audit_keys import AuditKeyError, rotate_key_file

        report = audit.verify_chain()
        if not report.ok:
            click.echo(f"Key not rotated: the audit log is BROKEN: {report.reason}.", err=True)
            raise SystemExit(1)
        try:
            old, new = rotate_key_file(audit.keys())
        except AuditKeyError as exc:
            raise click.ClickException(str(exc)) from exc
        audit.reload_keys()
        audit.record("audit.key_rotated", old=old, new=new)
        line = "\n".join(audit.checkpoint_line(cp) for cp in audit.take_checkpoints("rotate"))
        db.session.commit()
        audit.append_checkpoint(line)
        click.echo(f"Audit key {old} retired (kept as {audit.keys().from_file}.old-{old}); new rows are sealed "
                   f"with key {new}. Back up the new key, then restart the service so every worker uses it.")

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

    # --- Deadlines: one pass of the sweep (a systemd timer runs it every minute; docs/DEPLOY.md) ---------

    @app.cli.group("deadlines")
    def deadlines_group():
        """Deadlines of tips and verification tasks."""

    @deadlines_group.command("run")
    def deadlines_run_command():
        """Tell whoever must know what runs late (one pass; running it twice tells nobody twice)."""
        from . import deadlines

        fired = deadlines.sweep()
        db.session.commit()
        click.echo(f"Deadlines checked: {len(fired)} told.")
