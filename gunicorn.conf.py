"""Gunicorn settings of the web process: compose, the Dockerfile and `make` all start it with this file."""
import os

# Behind the nginx proxy in compose; `GUNICORN_BIND=127.0.0.1:8001` (or `--bind`) elsewhere.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Threads, not one request per process: a client that sends its request slowly holds one thread,
# not a whole worker, and the many short status polls of open task pages share the processes.
# (The proxy in front buffers whole requests as well; this keeps the app standing without it.)
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Each thread keeps its own database connection when DATABASE_URL asks for it (?conn_max_age=60, as
# compose does): workers x threads connections at most, well under PostgreSQL's 100.
# Connections one worker holds open at once (busy threads plus kept-alive ones waiting in its poller).
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))

# A worker silent this long (a request stuck in a thread does not silence it) is restarted.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Kept-alive connections are cheap in the poller; pages poll every 3 s, the proxy reuses its own.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))

# Restart a worker now and then, so a slow leak never grows for weeks.
max_requests = 5000
max_requests_jitter = 500

# X-Forwarded-* are trusted from these addresses only (the proxy; compose sets its network).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
