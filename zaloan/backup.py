"""Backups you can trust: one archive, restored into an empty instance and checked.

`flask backup PATH` writes ONE tar archive holding

- `database.sqlite` (SQLite's online backup API) or `database.pgdump`
  (`pg_dump --format=custom`): one consistent snapshot of the database;
- `uploads/...`: the photos (and thumbnails) the attachment rows *of that
  snapshot* name, read from the store whichever driver it is (folder or S3);
- `audit.checkpoint`: the head of every audit chain, taken just before the
  snapshot (so the snapshot holds at least those rows);
- `manifest.json`: format, versions, counts, and the size and SHA-256 of each
  member above (it is the archive's first member).

With a backup key (`BACKUP_KEY`, or the file `BACKUP_KEY_FILE`, by default
`instance/backup.key`) the tar is encrypted as it is written: AES-256-GCM in
chunks of 1 MiB (the `cryptography` library), each chunk's nonce carrying its
number and a "last chunk" flag, every chunk bound to the header, so a changed,
reordered, cut or lengthened archive fails to decrypt. The header names the
key's id, so a wrong key is told apart from a damaged archive.

`flask restore ARCHIVE` refuses a database that already holds data; it checks
every member against the manifest before it writes anything, restores the
database and the files, then checks the audit chain against the archive's
checkpoint and that every attachment row has its file.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from . import audit
from .extensions import db
from .images import thumb_name
from .models import utcnow
from .storage import files

FORMAT = 1
MAGIC = b"ZALOAN-BACKUP-AESGCM v1\n"
CHUNK = 1024 * 1024
# Tables counted in the manifest and in the restore's summary.
# The files the rows name: photos, and voice notes (zaloan.voice).
FILES_SQL = ("SELECT storage_name FROM attachments UNION ALL SELECT storage_name FROM voice_notes "
             "ORDER BY storage_name")
COUNTED = ("units", "users", "tips", "attachments", "messages", "verification_tasks", "audit_events")
MEMBER_NAME = re.compile(r"^(manifest\.json|audit\.checkpoint|database\.(sqlite|pgdump)|uploads/[A-Za-z0-9._-]{1,100})$")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, and nothing was changed."""


# --- The key -------------------------------------------------------------------------------


def backup_key(config) -> str | None:
    """Return the backup key from BACKUP_KEY or BACKUP_KEY_FILE (default instance/backup.key), None without one."""
    value = (config.get("BACKUP_KEY") or "").strip()
    if not value:
        path = Path(config.get("BACKUP_KEY_FILE") or Path(current_app.instance_path) / "backup.key")
        if path.is_file():
            value = path.read_text(encoding="utf-8").strip()
    if not value:
        return None
    if len(value) < 32:
        raise BackupError("The backup key must be at least 32 characters long.")
    return value


def key_id(key: str) -> str:
    """Return the public id of a backup key (8 hex digits), written in the archive's header."""
    return hashlib.sha256(b"zaloan-backup-key-id:" + key.encode("utf-8")).hexdigest()[:8]


def _aes(key: str, salt: bytes):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"zaloan-backup v1").derive(key.encode())
    return AESGCM(derived)


def _nonce(prefix: bytes, n: int, last: bool) -> bytes:
    return prefix + n.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def encrypt_file(source: Path, target: Path, key: str) -> None:
    """Encrypt `source` into `target` chunk by chunk (never the whole file in memory)."""
    salt, prefix = os.urandom(16), os.urandom(7)
    header = MAGIC + json.dumps({"key": key_id(key), "salt": salt.hex(), "nonce": prefix.hex(),
                                 "chunk": CHUNK}).encode() + b"\n"
    aes = _aes(key, salt)
    with source.open("rb") as src, target.open("wb") as out:
        out.write(header)
        n, chunk = 0, src.read(CHUNK)
        while True:
            following = src.read(CHUNK)
            last = not following
            sealed = aes.encrypt(_nonce(prefix, n, last), chunk, header)
            out.write(len(sealed).to_bytes(4, "big") + sealed)
            if last:
                break
            n, chunk = n + 1, following


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def decrypt_file(source: Path, target: Path, key: str | None) -> None:
    """Decrypt an archive made by `encrypt_file`; raise BackupError for a wrong key or a changed archive."""
    from cryptography.exceptions import InvalidTag

    damaged = BackupError("The archive is damaged or was changed after it was made: it cannot be decrypted. "
                          "Nothing was restored.")
    with source.open("rb") as src:
        magic = src.read(len(MAGIC))
        line = src.readline(1000)
        try:
            meta = json.loads(line)
            salt, prefix = bytes.fromhex(meta["salt"]), bytes.fromhex(meta["nonce"])
            wanted = str(meta["key"])
        except (ValueError, KeyError, TypeError):
            raise damaged from None
        if key is None:
            raise BackupError(f"The archive is encrypted (backup key {wanted}) and no backup key is configured: "
                              "set BACKUP_KEY or put the key in instance/backup.key. Nothing was restored.")
        if key_id(key) != wanted:
            raise BackupError(f"The archive was encrypted with another backup key (key {wanted}; the key configured "
                              f"here is {key_id(key)}). Nothing was restored.")
        header = magic + line
        aes = _aes(key, salt)
        with target.open("wb") as out:
            n = 0
            size = src.read(4)
            while True:
                if len(size) < 4:
                    raise damaged
                sealed = src.read(int.from_bytes(size, "big"))
                following = src.read(4)
                try:
                    out.write(aes.decrypt(_nonce(prefix, n, not following), sealed, header))
                except InvalidTag:
                    raise damaged from None
                if not following:
                    return
                n, size = n + 1, following


# --- Making an archive -----------------------------------------------------------------------


@dataclass
class BackupSummary:
    path: Path
    size: int
    encrypted: bool
    counts: dict
    files: int
    missing: list[str]
    checkpoints: list[str]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _pg_tool(name: str) -> str:
    """Return the path of a PostgreSQL client tool: PG_BIN_DIR, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    folder = current_app.config.get("PG_BIN_DIR")
    candidates = [Path(folder)] if folder else []
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                       key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for d in candidates + installed:
        if (d / name).is_file():
            return str(d / name)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"PostgreSQL's {name} was not found: install postgresql-client or set PG_BIN_DIR.")
    return found


def _pg_args(url) -> tuple[list[str], dict]:
    """Return libpq connection arguments and environment for the app's database (the password in PGPASSWORD)."""
    url = make_url(url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return args, env


def _run(cmd: list[str], env: dict, what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-1000:]}")


def _snapshot_sqlite(engine, target: Path) -> tuple[list[str], dict, str | None]:
    """Copy the live SQLite database with the backup API; return its attachment names, counts and schema revision."""
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("This SQLite database is not a file.")
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            status = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if status != "ok":
                raise BackupError(f"The copy failed its integrity check: {status}")
            names = [r[0] for r in copy.execute(FILES_SQL)]
            counts = {t: copy.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}  # noqa: S608
            revision = _revision(copy.execute)
        finally:
            copy.close()
    finally:
        source.close()
    return names, counts, revision


def _revision(execute) -> str | None:
    try:
        row = execute("SELECT version_num FROM alembic_version").fetchone()
    except Exception:  # a database built without Alembic (tests' create_all)
        return None
    return row[0] if row else None


def _snapshot_postgresql(engine, target: Path) -> tuple[list[str], dict, str | None]:
    """pg_dump one exported snapshot, and read the attachment rows of that same snapshot."""
    args, env = _pg_args(engine.url)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            names = list(conn.execute(text(FILES_SQL)).scalars())
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}  # noqa: S608
            revision = _revision(lambda sql: conn.execute(text(sql)))
            # The transaction stays open until pg_dump has read the snapshot it exported.
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  "--file", str(target)] + args, env, "pg_dump")
    return names, counts, revision


def _versions(engine) -> dict:
    """Return the versions an archive was made with: its format, the database server, the tools, Python."""
    import platform

    out = {"format": FORMAT, "python": platform.python_version()}
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                out["sqlite"] = conn.exec_driver_sql("SELECT sqlite_version()").scalar_one()
            else:
                out["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar_one()
        if engine.dialect.name == "postgresql":
            out["pg_dump"] = subprocess.run([_pg_tool("pg_dump"), "--version"], capture_output=True, text=True,
                                            timeout=30).stdout.strip()
    except Exception:  # versions are for reading, never a reason to fail a backup
        pass
    return out


def make_backup(path: str | os.PathLike, key: str | None = None) -> BackupSummary:
    """Write one archive to `path` (encrypted with `key` when given); return what it holds."""
    final = Path(path)
    if final.exists():
        raise BackupError(f"{final} already exists; choose a new file name.")
    final.parent.mkdir(parents=True, exist_ok=True)
    engine = db.engine
    dialect = engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups of a {dialect} database are not supported.")
    # The head of every chain before the snapshot: the archive holds at least these rows.
    lines = [audit.checkpoint_line(cp) for cp in audit.take_checkpoints("backup")]
    db.session.commit()
    work = Path(tempfile.mkdtemp(prefix=".zaloan-backup-", dir=final.parent))
    try:
        database = work / ("database.sqlite" if dialect == "sqlite" else "database.pgdump")
        snap = _snapshot_sqlite if dialect == "sqlite" else _snapshot_postgresql
        names, counts, revision = snap(engine, database)
        (work / "audit.checkpoint").write_text(audit.FILE_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
        (work / "uploads").mkdir()
        store, missing, copied = files(), [], 0
        for name in names:
            for member in (name, thumb_name(name)):
                data = store.get(member)
                if data is None:
                    if member == name:
                        missing.append(name)  # deleted since the snapshot (erased, purged) or lost
                    continue
                (work / "uploads" / Path(member).name).write_bytes(data)
                copied += member == name
        members = [database.name, "audit.checkpoint"] + sorted(
            f"uploads/{p.name}" for p in (work / "uploads").iterdir())
        manifest = {
            "format": FORMAT,
            "kind": "zaloan-backup",
            "created_at": utcnow().isoformat(timespec="seconds") + "Z",
            "database": dialect,
            "schema_revision": revision,
            "versions": _versions(engine),
            "counts": counts,
            "photos": {"rows": len(names), "copied": copied, "missing": missing},
            "checkpoints": lines,
            "members": {m: {"size": (work / m).stat().st_size, "sha256": _sha256(work / m)} for m in members},
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        plain = work / "archive.tar"
        with tarfile.open(plain, "w", format=tarfile.PAX_FORMAT) as tar:
            for m in ["manifest.json"] + members:
                tar.add(work / m, arcname=m, recursive=False)
        partial = final.with_name(final.name + ".partial")
        if key:
            encrypt_file(plain, partial, key)
        else:
            shutil.move(plain, partial)
        os.replace(partial, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupSummary(final, final.stat().st_size, bool(key), counts, copied, missing, lines)


# --- Restoring --------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    counts: dict
    files: int
    chain: audit.ChainReport
    missing_files: list[str] = field(default_factory=list)
    schema_revision: str | None = None

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.missing_files


def database_rows() -> dict[str, int]:
    """Return the rows of the counted tables that exist in the app's database (none: an empty database)."""
    tables = set(inspect(db.engine).get_table_names())
    found = {}
    with db.engine.connect() as conn:
        for t in COUNTED:
            if t in tables:
                found[t] = conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
    return found


def _open_archive(path: Path, work: Path, key: str | None) -> tuple[dict, Path]:
    """Check every member against the manifest and extract them into `work`; return the manifest and the folder."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    source = path
    if is_encrypted(path):
        source = work / "archive.tar"
        decrypt_file(path, source, key)
    out = work / "members"
    out.mkdir()
    try:
        with tarfile.open(source, "r:") as tar:
            first = tar.next()
            if first is None or first.name != "manifest.json" or not first.isfile():
                raise BackupError(f"{path} is not a zaloan backup archive (no manifest). Nothing was restored.")
            manifest = json.loads(tar.extractfile(first).read())
            if manifest.get("kind") != "zaloan-backup" or manifest.get("format") != FORMAT:
                raise BackupError(f"{path} is a backup of another format. Nothing was restored.")
            listed = manifest.get("members") or {}
            seen = set()
            while (member := tar.next()) is not None:
                if member.name not in listed or not member.isfile() or not MEMBER_NAME.match(member.name) \
                        or member.name in seen:
                    raise BackupError(f"The archive holds {member.name!r}, which its manifest does not list. "
                                      "Nothing was restored.")
                seen.add(member.name)
                target = out / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                h = hashlib.sha256()
                with tar.extractfile(member) as src, target.open("wb") as dst:
                    for block in iter(lambda: src.read(CHUNK), b""):
                        h.update(block)
                        dst.write(block)
                if h.hexdigest() != listed[member.name].get("sha256"):
                    raise BackupError(f"{member.name} in the archive does not match its checksum: the archive is "
                                      "damaged or was changed. Nothing was restored.")
    except (tarfile.TarError, ValueError, OSError) as exc:
        raise BackupError(f"{path} is damaged or is not a zaloan backup archive ({exc}). Nothing was restored.") \
            from None
    absent = set(listed) - seen
    if absent:
        raise BackupError(f"The archive lacks {sorted(absent)[0]}, which its manifest lists: it was cut. "
                          "Nothing was restored.")
    return manifest, out


def restore_backup(path: str | os.PathLike, key: str | None = None) -> RestoreReport:
    """Restore an archive into this instance's empty database and store; then check the chain and the files."""
    engine = db.engine
    dialect = engine.dialect.name
    rows = {t: n for t, n in database_rows().items() if n}
    if rows:
        what = ", ".join(f"{n} {t}" for t, n in sorted(rows.items()))
        raise BackupError(f"The database is not empty ({what}): restore only into a new, empty database. "
                          "Nothing was changed.")
    path = Path(path)
    work = Path(tempfile.mkdtemp(prefix=".zaloan-restore-"))
    try:
        manifest, members = _open_archive(path, work, key)
        if manifest.get("database") != dialect:
            raise BackupError(f"The archive holds a {manifest.get('database')} database; this instance uses "
                              f"{dialect}. Nothing was restored.")
        db.session.remove()
        engine.dispose()
        if dialect == "sqlite":
            target = engine.url.database
            if not target or target == ":memory:":
                raise BackupError("This SQLite database is not a file.")
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            src, dst = sqlite3.connect(members / "database.sqlite"), sqlite3.connect(target, timeout=30)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
        else:
            args, env = _pg_args(engine.url)
            _run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  "--clean", "--if-exists"] + args + [str(members / "database.pgdump")], env, "pg_restore")
        engine.dispose()
        store, restored = files(), 0
        uploads = members / "uploads"
        for p in sorted(uploads.iterdir()) if uploads.is_dir() else []:
            store.put(p.name, p.read_bytes())
            restored += not p.name.endswith(".thumb.jpg")
        wanted = [(cp, "the archive's checkpoint") for cp in
                  audit.read_checkpoint_file(members / "audit.checkpoint")]
        chain = audit.verify_chain(wanted)
        names = list(db.session.scalars(db.text(FILES_SQL)))
        missing = [n for n in names if not store.exists(n)]
        db.session.remove()  # its transaction holds SQLite's write lock: end it before counting on another connection
        counts = database_rows()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return RestoreReport(counts, restored, chain, missing, manifest.get("schema_revision"))


def archive_manifest(path: str | os.PathLike, key: str | None = None) -> dict:
    """Return the manifest of an archive after checking every member (for tests and `restore --check`)."""
    work = Path(tempfile.mkdtemp(prefix=".zaloan-check-"))
    try:
        manifest, _ = _open_archive(Path(path), work, key)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def read_member(path: str | os.PathLike, name: str, key: str | None = None) -> bytes:
    """Return one member of an archive (checked against its manifest)."""
    work = Path(tempfile.mkdtemp(prefix=".zaloan-check-"))
    try:
        _, members = _open_archive(Path(path), work, key)
        return (members / name).read_bytes()
    finally:
        shutil.rmtree(work, ignore_errors=True)

