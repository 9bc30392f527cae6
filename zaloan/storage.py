"""Where uploaded files live: one interface, two drivers.

`LocalFolder` keeps them in `UPLOAD_FOLDER` (the default, one app server).
`ObjectStore` keeps them in an S3-compatible bucket (several app servers
behind one address, a province): set `STORAGE_URL=s3://bucket/prefix` and,
for a store other than Amazon's, `S3_ENDPOINT_URL`; credentials come the
usual boto3 way (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, an instance
role). Files are named by the app (random names from the database, never
from a URL) and are private: the app reads them and serves them after its own
permission check; the bucket is never opened to browsers.
"""
from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app


class StorageError(RuntimeError):
    """The store could not be reached or refused a write."""


class StorageFull(StorageError):
    """The disk the store writes to is full (or the account's quota is spent)."""


FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _write(path: Path, data: bytes) -> None:
    """Write a new file and make it durable (a full disk may only say so at the flush or the fsync)."""
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class LocalFolder:
    """Files in one folder of this machine."""

    kind = "local"

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _path(self, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / Path(name).name

    def put(self, name: str, data: bytes) -> None:
        """Write `data` so that a reader sees the whole file or none (two writers may race).

        The bytes go to a temporary name first, renamed once whole; on any
        error (a full disk above all) the temporary file is removed, so no
        partial file is ever left behind.
        """
        tmp = None
        try:
            path = self._path(name)
            tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
            _write(tmp, data)
            os.replace(tmp, path)
        except BaseException as exc:
            if tmp is not None:
                try:
                    tmp.unlink(missing_ok=True)
                except OSError:
                    pass
            if isinstance(exc, OSError):
                kind = StorageFull if exc.errno in FULL_ERRNOS else StorageError
                raise kind(f"could not store {name}: {exc.strerror or exc}") from exc
            raise

    def get(self, name: str) -> bytes | None:
        path = self._path(name)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def listing(self) -> Iterator[tuple[str, datetime]]:
        """Yield (name, last modified, naive UTC) of every file in the folder, temporary ones included."""
        if not self.folder.is_dir():
            return
        with os.scandir(self.folder) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        mtime = entry.stat(follow_symlinks=False).st_mtime
                        yield entry.name, datetime.fromtimestamp(mtime, timezone.utc).replace(tzinfo=None)
                except FileNotFoundError:
                    continue  # removed meanwhile

    def local_path(self, name: str) -> Path | None:
        """Return the file itself (served straight from disk), None when it is not there."""
        path = self._path(name)
        return path if path.is_file() else None


class ObjectStore:
    """Files as objects of an S3-compatible bucket, under a prefix."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            client = boto3.client(
                "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
                config=BotoConfig(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}),
            )
        self.client = client
        from botocore.exceptions import BotoCoreError, ClientError

        self._errors = (BotoCoreError, ClientError)

    def key(self, name: str) -> str:
        name = Path(name).name
        return f"{self.prefix}/{name}" if self.prefix else name

    @staticmethod
    def _missing(exc) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def put(self, name: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key(name), Body=data, ContentType="image/jpeg")
        except self._errors as exc:
            raise StorageError(f"could not store {name}: {exc}") from exc

    def get(self, name: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()
        except self._errors as exc:
            if self._missing(exc):
                return None
            raise StorageError(f"could not read {name}: {exc}") from exc

    def exists(self, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(name))
            return True
        except self._errors as exc:
            if self._missing(exc):
                return False
            raise StorageError(f"could not look up {name}: {exc}") from exc

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))
        except self._errors as exc:
            raise StorageError(f"could not delete {name}: {exc}") from exc

    def listing(self) -> Iterator[tuple[str, datetime]]:
        """Yield (name, last modified, naive UTC) of every object under the prefix (not below it)."""
        prefix = f"{self.prefix}/" if self.prefix else ""
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(prefix):]
                    if name and "/" not in name:
                        yield name, obj["LastModified"].astimezone(timezone.utc).replace(tzinfo=None)
        except self._errors as exc:
            raise StorageError(f"could not list the bucket: {exc}") from exc

    def local_path(self, name: str) -> None:
        return None


def from_config(config) -> LocalFolder | ObjectStore:
    """Return the driver `STORAGE_URL` names: empty or `file:` is the upload folder, `s3://bucket/prefix` a bucket."""
    url = (config.get("STORAGE_URL") or "").strip()
    if not url or url.startswith("file:"):
        return LocalFolder(config["UPLOAD_FOLDER"])
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"STORAGE_URL must be empty or s3://bucket/prefix, not {url!r}")
    return ObjectStore(parts.netloc, parts.path, endpoint_url=config.get("S3_ENDPOINT_URL") or None,
                       region=config.get("S3_REGION") or None)


def files() -> LocalFolder | ObjectStore:
    """Return this app's store of uploaded files (made once per app)."""
    store = current_app.extensions.get("zaloan.storage")
    if store is None:
        store = current_app.extensions["zaloan.storage"] = from_config(current_app.config)
    return store
