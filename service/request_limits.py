"""Refuse request bodies over the size limit, whether or not they declare their length."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def refuse_oversized_streams() -> None:
    """Answer 413 to a chunked body over the limit instead of reading a truncated copy.

    Werkzeug refuses an oversized Content-Length itself, but silently cuts a body sent without
    one at the limit, which would then fail to parse as a confusing 400.
    """
    limit = request.max_content_length
    if limit is None or request.content_length is not None or request.method in SAFE_METHODS:
        return
    if not request.environ.get("wsgi.input_terminated"):
        return
    body = request.get_data(cache=True)
    if len(body) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


def register_request_limits(app: Flask) -> None:
    """Check every request's body size before any view reads it."""
    app.before_request(refuse_oversized_streams)
