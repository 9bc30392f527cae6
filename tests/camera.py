"""Photos made like a phone camera's, for byte budgets and benchmarks."""
from __future__ import annotations

import io
import random
from functools import lru_cache


@lru_cache(maxsize=8)
def camera_jpeg(seed: int = 3, size: tuple[int, int] = (4000, 3000), limit: int = 4_300_000) -> bytes:
    """Return a JPEG made like a phone photo (4000x3000, about 4 MB by default).

    A scene of soft-edged shapes over a sky-to-ground gradient, lens softness,
    then fine grain (texture and sensor noise), saved at the highest quality
    that stays under `limit` bytes, as phone cameras do. Each seed makes
    another scene.
    """
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    w, h = size
    scale = w / 4000  # shapes keep their share of the frame at any size
    img = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    img = Image.merge("RGB", [c.point(lambda v, k=k: int(v * k)) for c, k in zip(img.split(), (0.55, 0.6, 0.8))])
    draw = ImageDraw.Draw(img)
    for _ in range(400):
        x, y = rng.randrange(w), rng.randrange(h)
        s = max(2, int(rng.randrange(20, 600) * scale))
        color = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x, y, x + s, y + s * rng.uniform(0.3, 1.5)], fill=color)
        else:
            draw.polygon([(x + rng.randrange(-s, s), y + rng.randrange(-s, s)) for _ in range(5)], fill=color)
    img = img.filter(ImageFilter.GaussianBlur(2))
    img = Image.blend(img, Image.effect_noise((w, h), 64).convert("RGB"), 0.2)
    for quality in (95, 93, 90, 88, 85, 80):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        if buf.tell() <= limit:
            break
    return buf.getvalue()


def add_tip_with_photos(seeds: tuple[int, ...] = (1, 2, 3)) -> dict:
    """Add a tip of the demo's first informant with camera photos, all shared with the first verifier's task.

    Runs in an app context over the demo commune; commits; returns the ids
    ({"tip", "a" (the verifier's assignment), "photos"}).
    """
    from datetime import timedelta

    from sqlalchemy import select

    from zaloan import cases, images
    from zaloan.extensions import db
    from zaloan.models import Category, Unit, User, utcnow

    def user(phone):
        return db.session.scalar(select(User).where(User.phone == phone))

    village = db.session.scalar(select(Unit).where(Unit.name == "Thôn Đồng Bé"))
    cat = db.session.scalar(select(Category).where(Category.code == "theft"))
    an, officer, verifier = user("+84900000010"), user("+84900000002"), user("+84900000020")
    photos = [images.store(camera_jpeg(seed)) for seed in seeds]
    tip, _ = cases.submit_tip(commune=village.commune(), informant=an.informant, category=cat, village=village,
                              body="Có xe máy lạ dựng ở cổng chợ từ sáng, có ảnh.", photos=photos, uploader=an)
    db.session.flush()
    task = cases.create_task(tip, by=officer, verifiers=[verifier], brief="Xem chiếc xe ở cổng chợ.",
                             due_at=utcnow() + timedelta(hours=6), shared_photo_ids=[a.id for a in tip.attachments])
    db.session.commit()
    return {"tip": tip.id, "a": task.assignments[0].id, "photos": [a.id for a in tip.attachments]}
