"""gunicorn settings for zaloan: `gunicorn --config deploy/gunicorn.conf.py` (see docs/DEPLOY.md).

Settings on the command line win over these, so a bench or a test can move the
address (`--bind 127.0.0.1:PORT`) and keep everything else.
"""

wsgi_app = "wsgi:app"
bind = "127.0.0.1:8000"

# Sync workers: three suit one or two cores. nginx reads every request whole
# before it reaches a worker (deploy/nginx/zaloan.conf), so a slow phone never
# holds one.
workers = 3
worker_class = "sync"
timeout = 60
graceful_timeout = 30

# Recycle each worker after about a thousand requests: a worker's memory grew
# from 76 to 164 MB in ten minutes of load (photos are decoded in the worker,
# and Python keeps what it once took). The jitter keeps the workers from all
# restarting at the same moment. A worker finishes the request in progress
# before it leaves, and the master starts its replacement at once.
max_requests = 1000
max_requests_jitter = 100

# No access log: the app logs every request itself, without query strings
# or codes in paths (docs/DEPLOY.md, "Health and logs").
accesslog = None
