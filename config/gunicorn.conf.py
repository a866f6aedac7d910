"""Gunicorn settings for every deployment: `gunicorn -c config/gunicorn.conf.py service.wsgi:app`."""

import multiprocessing
import os

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
# The access log shows the path without its query string.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
