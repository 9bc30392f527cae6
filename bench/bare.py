"""A bare upload endpoint: a plain multipart form that stores nothing (the benchmark's baseline)."""
from flask import Flask, request

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024

FORM = """<!doctype html><html lang="vi"><meta name="viewport" content="width=device-width">
<form method="post" enctype="multipart/form-data"><input type="file" name="photo">
<button>Gửi</button></form></html>"""


@app.route("/", methods=["GET", "POST"])
def upload():
    if request.method == "POST":
        size = len(request.files["photo"].read())
        return f'<!doctype html><p id="done">{size}</p>'
    return FORM
