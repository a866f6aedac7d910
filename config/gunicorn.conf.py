"""Gunicorn settings for all deployments: `gunicorn -c config/gunicorn.conf.py service.wsgi:app`."""

import multiprocessing
import os
import tempfile

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# Threaded workers: a request waiting on Redis does not hold a whole process.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A listening socket per worker: the kernel spreads new connections evenly, where a shared
# socket lets one gthread worker take most keep-alive connections while another idles.
reuse_port = True
timeout = 30
graceful_timeout = 20
keepalive = 5
# Request line and headers stay small; bodies are capped at 64 KiB by the app (413).
limit_request_line = 4094
limit_request_fields = 64
limit_request_field_size = 8190
# The service writes one JSON line per request itself (request id, route, status, duration,
# the client's network only), so gunicorn's own access log stays off.
accesslog = None
errorlog = "-"
# Gunicorn names a client whose request it could not parse; keep only its network.
logger_class = "service.server_log.PrivateAddressLogger"

# Metrics from every worker, gathered by /metrics (prometheus-client's multiprocess mode).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="comments-metrics-")


def child_exit(server, worker):
    """Forget a finished worker's live metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
