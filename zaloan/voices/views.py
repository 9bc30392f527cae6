"""Take a voice note on its own, serve it after checking who asks, keep the officer's summary of it."""
from flask import jsonify, request, url_for
from flask_login import current_user

from .. import voice
from ..extensions import db
from ..models import Role, VoiceNote
from ..permissions import ANY_USER, allow, can_hear_voice, can_summarise_voice, get_or_404, voice_tip
from ..web import redirect_to, render
from . import bp


@bp.post("/")
@allow(Role.INFORMANT, Role.VERIFIER)
def upload():
    """Take one voice note on its own (the page's script records it and sends it before the form)."""
    key = request.form.get("client_key", "")
    sent = request.files.get("voice")
    if sent is None or not sent.filename:
        return jsonify(error=str(voice.PROBLEMS["empty"])), 422
    try:
        stored = voice.store(sent.read(voice.MAX_BYTES + 1))  # decoded before any transaction begins
    except voice.VoiceRejected as exc:
        return jsonify(error=exc.message), exc.status
    try:
        row = voice.upload(current_user, stored, key if 8 <= len(key) <= 64 else None)
    except voice.VoiceError as exc:
        db.session.rollback()
        voice.discard([stored])
        return jsonify(error=exc.message), exc.status
    if row.storage_name != stored.storage_name:
        voice.discard([stored])  # a retry: the first copy is kept
    db.session.commit()
    return jsonify(id=row.id, seconds=round(row.duration_ms / 1000), url=url_for("voices.show", note_id=row.id))


@bp.get("/<int:note_id>")
@allow(ANY_USER)
def show(note_id: int):
    """Send a voice note to someone who may hear it."""
    return voice.send_voice(get_or_404(VoiceNote, note_id, can_hear_voice))


@bp.post("/<int:note_id>/summary")
@allow(Role.OFFICER, Role.COMMANDER)
def summary(note_id: int):
    """Keep the officer's words for what a voice note says (audited)."""
    note = get_or_404(VoiceNote, note_id, can_summarise_voice)
    tip = voice_tip(note)
    try:
        voice.write_summary(note, by=current_user, text=request.form.get("summary", ""))
    except voice.VoiceError as exc:
        db.session.rollback()
        return render("voices/summary.html", note=note, tip=tip, text=request.form.get("summary", ""),
                      error=exc.message, status=exc.status)
    db.session.commit()
    return redirect_to("officer.tip", tip_id=tip.id, _anchor=f"voice-{note.id}")
