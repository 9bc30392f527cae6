"""The audit key: the secret that seals each audit row, kept outside the database.

Each audit row's hash is an HMAC-SHA256 under this key (see zaloan.audit), so
someone who can write to the database but does not hold the key cannot
rewrite a row and re-hash the chain after it. The key comes from `AUDIT_KEY`
or, when that is unset, from a file (`AUDIT_KEY_FILE`, by default
`instance/audit.key`), made with mode 0600 on first start like the secret key.

Each row stores the key's id: the first 8 hex digits of the SHA-256 of the
key. Older keys stay usable for checking rows they sealed: listed in
`AUDIT_KEYS_OLD` (comma-separated) or kept as files beside the key file named
`audit.key.old-<id>` (where `flask audit-rotate-key` puts them).
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

# The key id of rows hashed before the audit key existed: plain SHA-256, no key.
LEGACY = "sha256"
MIN_LENGTH = 32
HOW_TO_MAKE = "python3 -c \"import secrets; print(secrets.token_hex(32))\""


class AuditKeyError(ValueError):
    """An audit key that cannot be used; the message says why and what to do."""


def key_id(key: bytes) -> str:
    """Return the id stored with every row sealed by `key`: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:8]


@dataclass
class AuditKeys:
    """The key that seals new rows, and every configured key by id (the current one included)."""

    current_id: str
    current: bytes
    by_id: dict[str, bytes] = field(default_factory=dict)
    from_file: Path | None = None  # the file the current key was read from; None when it came from AUDIT_KEY

    def get(self, kid: str) -> bytes | None:
        return self.by_id.get(kid)

    def old_ids(self) -> list[str]:
        return sorted(k for k in self.by_id if k != self.current_id)


def _check(key: str, what: str, secret_key) -> bytes:
    key = key.strip()
    if len(key) < MIN_LENGTH:
        raise AuditKeyError(f"{what} is too short: use at least {MIN_LENGTH} characters, e.g. the output of {HOW_TO_MAKE}")
    if secret_key and key == str(secret_key).strip():
        raise AuditKeyError(f"{what} must differ from SECRET_KEY: the audit key only seals the audit log")
    return key.encode("utf-8")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def make_key_file(path: Path) -> None:
    """Write a new random key to `path` with mode 0600; leave an existing file alone.

    The key is written under a temporary name and linked into place, so two
    workers starting at once never end up sealing rows with two different keys.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another worker made it first: use theirs
    finally:
        partial.unlink(missing_ok=True)


def old_key_files(path: Path) -> list[Path]:
    """Return the retired key files kept beside the key file (audit.key.old-<id>)."""
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.glob(path.name + ".old-*") if p.is_file())


def load_keys(config) -> AuditKeys:
    """Return the configured audit keys, making the key file on first start when AUDIT_KEY is unset."""
    secret_key = config.get("SECRET_KEY")
    path = Path(config["AUDIT_KEY_FILE"])
    olds: list[tuple[str, str]] = []
    if config.get("AUDIT_KEY"):
        current = _check(config["AUDIT_KEY"], "AUDIT_KEY", secret_key)
        from_file = None
        # A key file left from before AUDIT_KEY was set still checks the rows it sealed.
        if path.is_file():
            olds.append((_read(path), str(path)))
    else:
        if not path.exists():
            make_key_file(path)
        current = _check(_read(path), str(path), secret_key)
        from_file = path
    olds += [(k, "AUDIT_KEYS_OLD") for k in (config.get("AUDIT_KEYS_OLD") or "").split(",") if k.strip()]
    olds += [(_read(p), str(p)) for p in old_key_files(path)]
    keys = AuditKeys(key_id(current), current, {key_id(current): current}, from_file)
    for text, where in olds:
        key = _check(text, where, secret_key)
        kid = key_id(key)
        if keys.by_id.get(kid, key) != key:
            raise AuditKeyError(f"two different audit keys share the id {kid} ({where}): keep only one")
        keys.by_id[kid] = key
    return keys


def rotate_key_file(keys: AuditKeys) -> tuple[str, str]:
    """Retire the key file's key as `<file>.old-<id>` and make a new key; return (old id, new id).

    Only for a key kept in a file: a key from AUDIT_KEY is rotated by hand
    (docs/DEPLOY.md, "Audit key").
    """
    path = keys.from_file
    if path is None:
        raise AuditKeyError("The audit key comes from AUDIT_KEY: move its value to AUDIT_KEYS_OLD, set a new "
                            f"AUDIT_KEY ({HOW_TO_MAKE}) and restart the service (see docs/DEPLOY.md).")
    old_id = key_id(_read(path).encode("utf-8"))
    retired = path.with_name(f"{path.name}.old-{old_id}")
    if retired.exists():
        if _read(retired) != _read(path):
            raise AuditKeyError(f"{retired} already exists with another key; move it away first.")
    else:
        os.link(path, retired)  # never overwrites; the old key is kept before the new one replaces it
    os.chmod(retired, 0o600)
    path.unlink()
    make_key_file(path)
    return old_id, key_id(_read(path).encode("utf-8"))
