"""Production entry point: `gunicorn --config deploy/gunicorn.conf.py` (which serves `wsgi:app`)."""
from zaloan import create_app

app = create_app()
