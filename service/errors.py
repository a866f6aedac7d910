"""Our exceptions, and the one JSON error shape every failure is answered with."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, SecurityError

from service.store import StoreUnavailable

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A failure with an HTTP status and a message safe to show to the caller."""

    code = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = {}


class CommentNotFound(ServiceError):
    """No comment has this id."""

    code = HTTPStatus.NOT_FOUND

    def __init__(self) -> None:
        super().__init__("No comment with this id.")


class InvalidField(ServiceError):
    """One submitted field breaks a rule that needs the store to check."""

    code = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def body_location() -> str:
    """Name the request body's location in validation errors: `form` or `json`."""
    return "form" if request.mimetype == "application/x-www-form-urlencoded" else "json"


def error_response(
    code: int, message: str | None = None, errors: Any = None, headers: Any = None
) -> Response:
    """Build the one error shape: {"code", "status", "message"?, "errors"?}."""
    payload: dict[str, Any] = {"code": code, "status": HTTPStatus(code).phrase}
    if message:
        payload["message"] = message
    if errors:
        payload["errors"] = errors
    response = jsonify(payload)
    response.status_code = code
    for name, value in dict(headers or {}).items():
        response.headers[name] = value
    return response


def _from_http_exception(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    if isinstance(errors, dict) and "json_or_form" in errors:
        errors = {body_location(): errors.pop("json_or_form"), **errors}
    headers = dict(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if error.code == HTTPStatus.UNAUTHORIZED:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="moderation"')
    message = data.get("message") or (None if errors else error.description)
    return error_response(error.code or 500, message, errors, headers)


def validation_messages(error: Exception) -> dict[str, list[str]]:
    """Give a validation failure's messages per field, whatever raised it."""
    if isinstance(error, InvalidField):
        return {error.field: [error.message]}
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages") or {}
    fields: dict[str, list[str]] = {}
    for location_messages in messages.values():
        fields.update(location_messages)
    return fields


def json_error(error: Exception) -> Response:
    """Answer any failure in the one JSON error shape."""
    if isinstance(error, InvalidField):
        return error_response(error.code, errors={body_location(): {error.field: [error.message]}})
    if isinstance(error, ServiceError):
        return error_response(error.code, error.message, headers=error.headers)
    if isinstance(error, StoreUnavailable):
        log.warning("storage unavailable: %s", error)
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "Comments are briefly unavailable. Please try again shortly.",
            headers={"Retry-After": str(current_app.config["RETRY_AFTER_SECONDS"])},
        )
    if isinstance(error, SecurityError):
        # Werkzeug's message repeats the Host header; never echo what a client made up.
        return error_response(HTTPStatus.BAD_REQUEST, "This host name is not served here.")
    if isinstance(error, HTTPException):
        return _from_http_exception(error)
    log.exception("unexpected error on %s %s", request.method, request.path)
    return _from_http_exception(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    """Answer every failure, 404, 405 and 500 included, in the one JSON shape."""
    for kind in (ServiceError, StoreUnavailable, HTTPException, Exception):
        app.register_error_handler(kind, json_error)
