"""Gunicorn settings for all deployments: `gunicorn -c config/gunicorn.conf.py service.wsgi:app`."""

import multiprocessing
import os
import signal
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
# SIGTERM lets requests under way finish for this long (`news-comments serve` shortens it).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# Request line and headers stay small; bodies are capped at 64 KiB by the app (413).
limit_request_line = 4094
limit_request_fields = 64
limit_request_field_size = 8190
# The service writes one JSON line per request itself (request id, route, status, duration,
# the client's network only), so gunicorn's own access log stays off.
accesslog = None
errorlog = "-"
# Gunicorn's log, with a client's network only and the address it listens at.
logger_class = "service.server_log.GunicornLogger"

# Metrics from every worker, gathered by /metrics (prometheus-client's multiprocess mode).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="comments-metrics-")


def on_starting(server):
    """Stop at once, in one line, when another program holds the port (with reuse_port each
    worker binds for itself, and would fail and be restarted forever)."""
    from service.serving import CannotServe, check_address_free

    if server.master_pid:
        return  # A re-executed master: the old one holds the port, as it should.
    for address in server.cfg.address:
        if isinstance(address, tuple):
            try:
                check_address_free(str(address[0]), int(address[1]))
            except CannotServe as refusal:
                raise RuntimeError(str(refusal)) from None
    # A wrong or unreachable Redis topology, or the old key layout: one line, and no worker.
    from service.cli import check_redis_or_exit

    check_redis_or_exit()


def post_worker_init(worker):
    """Leave at once on SIGINT (Ctrl-C) or SIGQUIT. Gunicorn's own handler first shuts the thread
    pool down, which deadlocks if the signal lands while the worker hands it a connection, and
    then waits for threads reading idle keep-alive connections, till the master SIGKILLs it."""

    def stop_now(signum, frame):
        os._exit(0)

    signal.signal(signal.SIGINT, stop_now)
    signal.signal(signal.SIGQUIT, stop_now)


def child_exit(server, worker):
    """Forget a finished worker's live metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
