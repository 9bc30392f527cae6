"""Photos from users: recognised by decoding, checked before decoding, re-encoded clean.

Only JPEG, PNG and WebP are accepted, whatever the file is called. The pixel
size is read from the header first, so a decompression bomb is refused before
a single pixel is decoded. Every accepted photo is re-encoded as a fresh JPEG
with its orientation applied and no metadata at all (EXIF, GPS, camera serial,
comments, trailing bytes of a polyglot), downscaled to at most 1600 px on the
long edge, and stored outside static/ under a random name. Beside it goes a
thumbnail (320 px on the long edge, a few KB) made from the clean image, which
pages show in place of the photo so that a page with photos stays light on 2G.

Photos are decoded and stored before the request's write transaction
begins, never inside it (see `store`).

A worker process decodes one photo at a time (DECODING): the pixels of a photo
near MAX_PIXELS take a few hundred MB while they are cleaned, and three photos
of one request, or photos of requests on several threads, decoded side by side
would multiply that on a small server. Others wait their turn; the check of the
header (size and pixels) needs no turn and is done first.
"""
from __future__ import annotations

import hashlib
import io
import secrets
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app, g, send_file
from PIL import Image, ImageOps, UnidentifiedImageError

from .db_setup import end_read_transaction
from .faults import note_new_file, note_storage_full
from .storage import StorageError, StorageFull, files

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_BYTES = 10 * 1024 * 1024  # a single photo as uploaded
# A 12 MP phone photo (4000x3000, what cameras save by default) fits with room
# to spare; a 7000x7000 PNG (49 MP, a few hundred KB on disk) does not. A photo
# from a 48 MP mode is shrunk on the phone before it is sent (app.js); without
# JavaScript it is refused with the words for a photo too large in size.
MAX_PIXELS = 40_000_000
MAX_SIDE = 12_000
LONG_EDGE = 1600  # what is kept: enough to read a number plate, light on 2G
QUALITY = 80
THUMB_EDGE = 320  # crisp in a 96 px box on a 2x screen, with room to crop it square
THUMB_QUALITY = 40  # a preview: three of them and the page well under 40 KB (tests/test_budgets.py)


# One decode at a time in this process (see the module's docstring). Held from
# the first decoded pixel to the last byte encoded, thumbnail included.
DECODING = threading.Lock()


class ImageRejected(ValueError):
    """The upload is not a photo we accept, or cannot be kept now; `reason` is a key of formkit.PHOTO_PROBLEMS."""

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
    check(data)
    with DECODING:
        clean = clean_image(data)
        return encode(clean), clean.width, clean.height


def opened(data: bytes) -> Image.Image:
    """Return `data` opened (its header read, no pixel decoded) if it is a photo we may decode; raise ImageRejected.

    Refuses by size on disk, by format and by the pixel size the header states,
    so a decompression bomb never reaches the decoder.
    """
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
    return img


def check(data: bytes) -> None:
    """Refuse `data` (ImageRejected) on what its header says, without decoding a pixel or waiting for DECODING."""
    opened(data)


def clean_image(data: bytes) -> Image.Image:
    """Return the pixels of `data` alone, upright, RGB, at most LONG_EDGE; raise ImageRejected.

    Callers hold DECODING.
    """
    img = opened(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
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
    return clean


def encode(img: Image.Image, quality: int = QUALITY) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def thumbnail_jpeg(img: Image.Image) -> bytes:
    """Return a small JPEG of `img` for pages: THUMB_EDGE on the long edge, never enlarged."""
    small = img.copy()
    small.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    return encode(small, THUMB_QUALITY)


def upload_dir() -> Path:
    """Return the local upload folder (the files themselves only with the default store, see zaloan.storage)."""
    path = Path(current_app.config["UPLOAD_FOLDER"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def store(data: bytes) -> StoredImage:
    """Clean `data`, keep it and its thumbnail under a random name; return what to record.

    The decoding and the writing of the files happen with no database
    transaction open (`db_setup.end_read_transaction`): a request that is
    about to write holds SQLite's write lock from its first query, and other
    workers' sends would wait on it for as long as the photos take.
    """
    check(data)  # a refused header never waits for another photo's turn
    end_read_transaction()
    with DECODING:
        clean = clean_image(data)
        jpeg = encode(clean)
        thumb = thumbnail_jpeg(clean)
    name = secrets.token_hex(16) + ".jpg"
    try:
        files().put(name, jpeg)
        files().put(thumb_name(name), thumb)
    except StorageFull:
        # No partial file is left (storage.LocalFolder.put); the sender keeps their text and is told why.
        remove_stored(name)
        note_storage_full()
        raise ImageRejected("disk_full") from None
    except StorageError:
        # The store is down: the sender keeps their text and is asked to try again (PHOTO_PROBLEMS).
        current_app.logger.exception("photo store unreachable")
        remove_stored(name)
        raise ImageRejected("unavailable") from None
    note_new_file(name)
    return StoredImage(name, "image/jpeg", clean.width, clean.height, len(jpeg), hashlib.sha256(jpeg).hexdigest())


def thumb_name(storage_name: str) -> str:
    """Return the name of a stored photo's thumbnail ("<name>.thumb.jpg")."""
    return Path(storage_name).stem + ".thumb.jpg"


def path_of(storage_name: str) -> Path:
    """Return where the default store (the upload folder) keeps a photo; the name comes from the database."""
    return upload_dir() / Path(storage_name).name


def thumb_path_of(storage_name: str) -> Path:
    """Return where the default store keeps a photo's thumbnail."""
    return upload_dir() / thumb_name(storage_name)


def ensure_thumbnail(storage_name: str) -> bool:
    """Make a stored photo's thumbnail now if it is missing; False when the photo itself is not there.

    Photos stored before thumbnails existed get theirs on first request: a
    file beside the photo, like a cache, so serving a page changes no row.
    """
    if files().exists(thumb_name(storage_name)):
        return True
    data = files().get(storage_name)
    if data is None:
        return False
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            small = thumbnail_jpeg(img.convert("RGB"))
    except (OSError, SyntaxError, ValueError):
        return False  # a damaged file: answered as missing, never a 500
    files().put(thumb_name(storage_name), small)
    return True


def remove_stored(storage_name: str) -> None:
    """Delete a stored photo and its thumbnail, if there (a store that cannot be reached leaves them, logged)."""
    try:
        files().delete(storage_name)
        files().delete(thumb_name(storage_name))
    except StorageError:
        current_app.logger.exception("could not delete %s", storage_name)


# --- Sending a stored photo ---------------------------------------------------------------

# A photo never changes under its URL (the URL carries its hash), so the
# browser of the person allowed to see it may keep it; shared caches may not.
# The trade-off on a shared phone is in docs/DEPLOY.md.
PHOTO_CACHE = "private, max-age=31536000, immutable"


def send_photo(photo, thumbnail: bool = False):
    """Send a stored photo (or its thumbnail) the caller has checked, as a JPEG no other origin may reuse."""
    name = photo.storage_name
    try:
        if thumbnail:
            if not ensure_thumbnail(name):
                abort(404)
            name = thumb_name(name)
        path = files().local_path(name)
        data = None if path is not None else files().get(name)
    except StorageError:
        current_app.logger.exception("photo store unreachable")
        abort(503)
    if path is not None:
        resp = send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)
    else:
        if data is None:
            abort(404)
        resp = send_file(io.BytesIO(data), mimetype="image/jpeg", conditional=True, max_age=0,
                         etag=hashlib.sha256(data).hexdigest()[:32], last_modified=photo.created_at)
    resp.headers["Cache-Control"] = PHOTO_CACHE
    g.keepable = True  # no cookie refresh, no `Vary: Cookie` (see zaloan.SessionInterface)
    resp.headers["Content-Disposition"] = "inline"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp
