"""A hello-world Flask app, served like zaloan, to show the framework's own ceiling."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, world!"
