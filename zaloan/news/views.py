"""Announcements: members read what is addressed to them; the commander and officers post and manage."""
from __future__ import annotations

from types import SimpleNamespace

from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.validators import ValidationError

from .. import announcements, cases, kept
from ..extensions import db
from ..formkit import discard, renew_key, stored_photos, to_utc
from ..images import send_photo
from ..models import Announcement, Role, utcnow
from ..permissions import (
    MEMBER_ROLES,
    allow,
    can_manage_announcement,
    can_read_announcement,
    get_or_404,
    is_addressed_to,
    managed_announcements_for,
)
from ..web import redirect_to, render, safe_next
from . import bp
from .forms import AnnouncementForm, PinForm

POSTERS = (Role.COMMANDER, Role.OFFICER)
HOME_ITEMS = 5


def photo_of(a: Announcement):
    """Return what zaloan.images.send_photo needs of an announcement's photo."""
    return SimpleNamespace(storage_name=a.photo_name, sha256=a.photo_sha256, created_at=a.created_at)


@bp.app_template_global()
def home_news(user) -> dict:
    """What a member's home page shows: pinned announcements and unread ones (a few), and whether there are more."""
    if not is_member(user):
        return {"items": [], "read": set(), "more": False}

    def shown():
        rows, read = announcements.for_member(user)
        items = [a.id for a in rows if a.pinned or a.id not in read][:HOME_ITEMS]
        # until the next scheduled announcement shows (it may be this member's)
        return (tuple(items), frozenset(read.intersection(items)), len(rows) > len(items)), \
            announcements.next_showing(user.commune_id)

    # Kept under the commune's clock and the member's (zaloan.kept): ids only, the rows are read when shown.
    ids, read, more = kept.for_person("home_news", user, shown)
    return {"items": announcements.by_ids(ids), "read": read, "more": more}


@bp.app_template_global()
def news_photo_url(a: Announcement, thumb: bool = False, public_slug: str | None = None) -> str:
    """Return where a page links an announcement's photo (the public page's own address for a public one)."""
    v = (a.photo_sha256 or "")[:16]
    if public_slug:
        return url_for("public.news_photo", slug=public_slug, announcement_id=a.id, thumb=1 if thumb else None, v=v)
    return url_for("news.photo_thumb" if thumb else "news.photo", announcement_id=a.id, v=v)


def is_member(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.role in MEMBER_ROLES


@bp.get("/")
@allow(*MEMBER_ROLES)
def index():
    """List every announcement addressed to the member, read ones too."""
    rows, read = announcements.for_member(current_user, limit=100)
    return render("news/index.html", rows=rows, read=read)


@bp.post("/<int:announcement_id>/read")
@allow(*MEMBER_ROLES)
def read(announcement_id: int):
    """Mark an announcement as seen ("Đã xem"), then go back where the member was."""
    a = get_or_404(Announcement, announcement_id, is_addressed_to)
    if announcements.mark_read(a, current_user):
        db.session.commit()
    target = safe_next(request.form.get("next")) or url_for("news.index")
    if getattr(request, "htmx", False):
        resp = make_response("", 204)
        resp.headers["HX-Location"] = target
        return resp
    return redirect(target, 303)


@bp.get("/<int:announcement_id>/photo")
@allow(*MEMBER_ROLES, Role.COMMANDER)
def photo(announcement_id: int):
    """Send an announcement's photo to someone it is addressed to, or who manages it."""
    a = get_or_404(Announcement, announcement_id, can_read_announcement)
    if not a.photo_name:
        abort(404)
    return send_photo(photo_of(a))


@bp.get("/<int:announcement_id>/photo/thumb")
@allow(*MEMBER_ROLES, Role.COMMANDER)
def photo_thumb(announcement_id: int):
    """Send the thumbnail of an announcement's photo."""
    a = get_or_404(Announcement, announcement_id, can_read_announcement)
    if not a.photo_name:
        abort(404)
    return send_photo(photo_of(a), thumbnail=True)


# --- Posting and managing ----------------------------------------------------------------------


@bp.get("/manage")
@allow(*POSTERS)
def manage():
    """List the announcements one may manage: whom each is for, how many have read it, withdraw, pin."""
    rows = db.session.scalars(
        select(Announcement).where(managed_announcements_for(current_user))
        .options(selectinload(Announcement.author), selectinload(Announcement.officer),
                 selectinload(Announcement.village))
        .order_by(Announcement.created_at.desc(), Announcement.id.desc()).limit(100)).all()
    return render("news/manage.html", rows=rows, counts=announcements.read_counts(list(rows)),
                  label=announcements.audience_label, now=utcnow())


@bp.route("/new", methods=["GET", "POST"])
@allow(*POSTERS)
def new():
    """Post an announcement: title, short text, one photo, who it is for, pinned, from when."""
    form = AnnouncementForm()
    form.audience.choices = announcements.audience_choices(current_user)
    error = None
    if form.validate_on_submit():
        photo = None
        try:
            photos = stored_photos("photo", limit=1)
            photo = photos[0] if photos else None
            shows_from = to_utc(form.shows_from.data)
            a, created = announcements.post(by=current_user, title=form.title.data, body=form.body.data or "",
                                            audience=form.audience.data, pinned=form.pinned.data,
                                            shows_from=shows_from, photo=photo, client_key=form.client_key.data)
        except ValidationError as exc:
            if photo:
                discard([photo])
            error = str(exc)
        except cases.CaseError as exc:
            db.session.rollback()
            if photo:
                discard([photo])  # nothing was saved: its file goes too
            renew_key(form, exc)
            field = getattr(form, exc.field, None) if exc.field else None
            if field is not None and not isinstance(exc, cases.KeyReused):
                field.errors = list(field.errors) + [exc.message]
            else:
                error = exc.message
        else:
            db.session.commit()
            flash(_("Announcement posted.") if a.shows_from <= a.created_at else
                  _("Announcement saved; it will show at the chosen time."))
            return redirect_to("news.manage")
    status = 422 if (error or form.errors) else 200
    return render("news/new.html", form=form, error=error, status=status)


@bp.post("/<int:announcement_id>/withdraw")
@allow(*POSTERS)
def withdraw(announcement_id: int):
    """Withdraw an announcement: nobody sees it any more; it stays in the record."""
    a = get_or_404(Announcement, announcement_id, can_manage_announcement)
    if announcements.withdraw(a, by=current_user):
        db.session.commit()
        flash(_("Announcement withdrawn. It is kept in the record."))
    return redirect_to("news.manage")


@bp.post("/<int:announcement_id>/pin")
@allow(*POSTERS)
def pin(announcement_id: int):
    """Pin an announcement at the top of its audience's pages, or unpin it."""
    a = get_or_404(Announcement, announcement_id, can_manage_announcement)
    form = PinForm()
    if announcements.set_pinned(a, bool(form.pinned.data), by=current_user):
        db.session.commit()
    return redirect_to("news.manage")
