"""Refuse request bodies over the size limit, whether or not they declare their length, and JSON
bodies nested deeper than any request of ours needs."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# No request body of the API nests more than a few levels; the JSON parser recurses per level.
MAX_JSON_DEPTH = 32
_OPENERS = frozenset(b"[{")
_CLOSERS = frozenset(b"]}")


def refuse_oversized_streams() -> None:
    """Answer 413 to a chunked body over the limit instead of reading a truncated copy.

    Werkzeug refuses an oversized Content-Length itself, but silently cuts a body sent without
    one at the limit, which would then fail to parse as a confusing 400.
    """
    if request.method in SAFE_METHODS or request.content_length is not None:
        return
    limit = request.max_content_length
    if limit is None:
        return
    if not request.environ.get("wsgi.input_terminated"):
        return
    body = request.get_data(cache=True)
    if len(body) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Tell whether a JSON text nests arrays and objects more than `limit` deep (strings aside).

    One pass over the bytes, and none at all for the usual body with few brackets.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSERS:
            depth -= 1
    return False


def refuse_deep_json() -> None:
    """Answer 400 to a JSON body nested past MAX_JSON_DEPTH, before a parser recurses into it.

    Python's JSON parser raises RecursionError near a thousand levels, which would otherwise
    surface as a 500 with a traceback in the log.
    """
    if request.method in SAFE_METHODS or not request.is_json:
        return
    if json_depth_exceeds(request.get_data(cache=True), MAX_JSON_DEPTH):
        raise BadRequest(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")


def check_request_body() -> None:
    """Check a request's body size, then its JSON depth; nothing to check on a GET."""
    if request.method in SAFE_METHODS:
        return
    refuse_oversized_streams()
    refuse_deep_json()


def register_request_limits(app: Flask) -> None:
    """Check every request's body size and JSON depth before any view reads it."""
    app.before_request(check_request_body)
