"""What operators see: Prometheus metrics, one JSON log line per request, request ids.

Under gunicorn the metrics are shared by every worker through prometheus-client's multiprocess
mode (PROMETHEUS_MULTIPROC_DIR, set up by config/gunicorn.conf.py). No metric label, log line
or header carries an email, a token or a full IP address.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from flask import Flask, Response, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter(
    "comments_http_requests_total", "HTTP requests by route and status.", ["route", "status"]
)
LATENCY = Histogram(
    "comments_http_request_seconds",
    "Time to answer a request, by route.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SUBMISSIONS = Counter(
    "comments_submissions_total",
    "Submissions by outcome: pending, approved (published at once), spam, or refused by a rule.",
    ["outcome"],
)
REDIS_ERRORS = Counter("comments_redis_errors_total", "Requests that found Redis unavailable.")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
access_log = logging.getLogger("service.access")


class JsonFormatter(logging.Formatter):
    """Write each log record as one JSON line, with the request id when there is one."""

    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if self._second[0] != second:
            # Once a second, not once a line: strftime is a good part of a short line's cost.
            self._second = (second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"))
        entry: dict[str, Any] = {
            "time": self._second[1],
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry).decode()
        except TypeError:
            # What orjson will not write (an odd object in `fields`), the standard library does.
            return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send every log record to stderr as a JSON line."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


@functools.lru_cache(maxsize=4096)
def client_network(address: str) -> str:
    """Give the client's network, never the full address: a /24 for IPv4, a /48 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _start() -> None:
    g.started = time.perf_counter()
    presented = request.headers.get("X-Request-ID", "")
    g.request_id = presented if _REQUEST_ID.fullmatch(presented) else secrets.token_hex(8)


# Each (route, status)'s counter and each route's histogram, looked up once: `labels()` checks
# and locks on every call.
_SERIES: dict[tuple[str, int], tuple[Counter, Histogram]] = {}


def _series(route: str, status: int) -> tuple[Counter, Histogram]:
    found = _SERIES.get((route, status))
    if found is None:
        found = _SERIES[(route, status)] = (
            REQUESTS.labels(route, str(status)),
            LATENCY.labels(route),
        )
    return found


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    route = request.url_rule.rule if request.url_rule else "unmatched"
    duration = time.perf_counter() - g.get("started", time.perf_counter())
    status = response.status_code
    count, latency = _series(route, status)
    count.inc()
    latency.observe(duration)
    if status == 503 and request.path != "/readyz":
        REDIS_ERRORS.inc()
    if access_log.isEnabledFor(logging.INFO):
        # The record made directly: `Logger.info` would first walk the stack for the caller's
        # file and line, which the JSON line does not show.
        fields = {
            "method": request.method,
            "route": route,
            "status": status,
            "duration_ms": round(duration * 1000, 2),
            "client": client_network(request.remote_addr or ""),
        }
        access_log.handle(
            access_log.makeRecord(
                access_log.name,
                logging.INFO,
                __file__,
                0,
                "request",
                (),
                None,
                extra={"fields": fields},
            )
        )
    return response


class QueueCollector:
    """The moderation queue's depth and age, and what the spam filter has learned, read from the
    store at each scrape.

    A collector, not a Gauge: in multiprocess mode every Gauge.set() writes a file per process,
    and those files outlive the process, so old values would sit beside the fresh one.
    """

    def __init__(self, read_stats: Callable[[], dict[str, Any]]) -> None:
        self.read_stats = read_stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the queue now; give one series per fact, with no process label."""
        stats = self.read_stats()
        yield GaugeMetricFamily(
            "comments_pending", "Comments waiting for moderation.", stats["counts"]["pending"]
        )
        yield GaugeMetricFamily(
            "comments_oldest_pending_age_seconds",
            "How long the oldest pending comment has waited.",
            stats["oldest_pending_age_seconds"] or 0,
        )
        learned = stats.get("spam_filter")
        if learned:
            family = GaugeMetricFamily(
                "comments_spam_filter_learned",
                "Comments the spam filter has learned, by kind.",
                labels=["kind"],
            )
            family.add_metric(["spam"], learned["learned_spam"])
            family.add_metric(["legitimate"], learned["learned_legitimate"])
            yield family


def metrics_response(read_stats: Callable[[], dict[str, Any]]) -> Response:
    """Render the metrics of every worker, with the queue's depth and age read just now."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    queue = CollectorRegistry()
    queue.register(QueueCollector(read_stats))
    return Response(body + generate_latest(queue), mimetype=CONTENT_TYPE_LATEST)


def register_observability(app: Flask) -> None:
    """Time, count and log every request; give each a request id."""
    app.before_request(_start)
    app.after_request(_finish)
