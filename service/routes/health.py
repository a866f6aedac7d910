"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import hmac
from typing import Any

from flask import request
from flask_smorest import Blueprint

from service.errors import error_response
from service.observability import metrics_response
from service.routes import services
from service.store import StoreUnavailable

blp = Blueprint("health", __name__, description="Liveness and readiness.")
_RETRY = {"Retry-After": "5"}


@blp.after_request
def never_cached(response: Any) -> Any:
    """Keep health and metrics answers (queue depth, spam counts) out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/healthz")
@blp.response(200)
def healthz() -> dict[str, Any]:
    """Answer while the process runs."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200)
@blp.alt_response(503, description="Redis does not answer or may evict comments.")
def readyz() -> Any:
    """Answer 200 only when Redis answers and never evicts data."""
    try:
        policy = services().store.eviction_policy()
    except StoreUnavailable as error:
        return error_response(503, f"Redis does not answer ({error}).", headers=_RETRY)
    if policy != "noeviction":
        return error_response(
            503,
            f"Redis runs with maxmemory-policy {policy}: it may drop pending comments. "
            "Set maxmemory-policy noeviction.",
            headers=_RETRY,
        )
    return {"status": "ready", "redis": "ok", "maxmemory_policy": policy}


@blp.route("/metrics")
@blp.doc(security=[{"metricsToken": []}])
@blp.response(200, content_type="text/plain")
@blp.alt_response(401, description="COMMENTS_METRICS_TOKEN is set and was not presented.")
@blp.alt_response(404, description="Production without COMMENTS_METRICS_TOKEN: no metrics.")
def metrics() -> Any:
    """Give the service's metrics in the Prometheus text format, to the metrics token holder."""
    settings = services().settings
    if settings.metrics_token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), settings.metrics_token.encode()
        ):
            return error_response(
                401,
                "The metrics token is required.",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    elif settings.is_production:
        # Counts of spam and the queue's depth are for operators: never public.
        return error_response(404, "Not Found")
    return metrics_response(services().moderation.stats)
