"""Photos from users: recognised by decoding, checked before decoding, re-encoded clean.

Only JPEG, PNG and WebP are accepted, whatever the file is called. The pixel
size is read from the header first, so a decompression bomb is refused before
a single pixel is decoded. Every accepted photo is re-encoded as a fresh JPEG
with its orientation applied and no metadata at all (EXIF, GPS, camera serial,
comments, trailing bytes of a polyglot), downscaled to at most 1600 px on the
long edge, and stored outside static/ under a random name.
"""
from __future__ import annotations

import hashlib
import io
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_BYTES = 10 * 1024 * 1024  # a single photo as uploaded
MAX_PIXELS = 50_000_000  # a 48 MP phone camera fits; a bomb does not
MAX_SIDE = 12_000
LONG_EDGE = 1600  # what is kept: enough to read a number plate, light on 2G
QUALITY = 80


class ImageRejected(ValueError):
    """The upload is not a photo we accept; `reason` is one of the keys of REASONS."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class StoredImage:
    storage_name: str
    content_type: str
    width: int
    height: int
    size: int
    sha256: str


def clean_jpeg(data: bytes) -> tuple[bytes, int, int]:
    """Return (jpeg bytes, width, height) of a clean re-encoding of `data`; raise ImageRejected."""
    if not data:
        raise ImageRejected("empty")
    if len(data) > MAX_BYTES:
        raise ImageRejected("too_large")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected("too_many_pixels") from None
        except (UnidentifiedImageError, OSError, ValueError):
            raise ImageRejected("not_an_image") from None
        if img.format not in ALLOWED_FORMATS:
            raise ImageRejected("not_an_image")
        width, height = img.size
        if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
            raise ImageRejected("too_many_pixels")
        try:
            img.draft("RGB", (LONG_EDGE * 2, LONG_EDGE * 2))  # JPEG: decode at reduced scale, cheaply
            img.load()
            img = ImageOps.exif_transpose(img)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected("not_an_image") from None
    if img.mode in ("RGBA", "LA", "P", "PA"):
        img = img.convert("RGBA")
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        img = background
    elif img.mode != "RGB":
        img = img.convert("RGB")
    img.thumbnail((LONG_EDGE, LONG_EDGE), Image.Resampling.LANCZOS)
    # A new image from the pixels alone: nothing of the original file survives.
    clean = Image.new("RGB", img.size)
    clean.paste(img)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return out.getvalue(), clean.width, clean.height


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def store(data: bytes) -> StoredImage:
    """Clean `data` and write it under a random name; return what to record in the database."""
    jpeg, width, height = clean_jpeg(data)
    name = secrets.token_hex(16) + ".jpg"
    path = upload_dir() / name
    tmp = path.with_suffix(".part")
    tmp.write_bytes(jpeg)
    os.replace(tmp, path)
    return StoredImage(name, "image/jpeg", width, height, len(jpeg), hashlib.sha256(jpeg).hexdigest())


def path_of(storage_name: str) -> Path:
    """Return the file of a stored photo; the name comes from the database, never from a URL."""
    return upload_dir() / Path(storage_name).name
