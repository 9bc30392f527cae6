"""Voice notes: taken one at a time, heard only by those who may, summarised by the officer."""
from flask import Blueprint

bp = Blueprint("voices", __name__)


@bp.record_once
def _helpers(state):
    from ..voice import duration_text, notes_of, notes_of_report

    # A tip's voice notes in one query, for the pages that show the tip, its thread and its reports.
    state.app.jinja_env.globals["voices_of"] = notes_of
    state.app.jinja_env.globals["report_voices"] = notes_of_report
    state.app.jinja_env.filters["voice_length"] = duration_text

from . import views  # noqa: E402,F401
