"""Production entry point: `gunicorn wsgi:app`."""
from zaloan import create_app

app = create_app()
