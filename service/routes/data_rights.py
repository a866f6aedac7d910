"""Readers' data rights, for moderators holding a token: export and erase by email."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from service.routes import services
from service.routes.moderation import authenticate, never_stored
from service.schemas import EmailAddress, ModerationCommentSchema
from service.settings import ERASE_MODES

blp = Blueprint(
    "data_rights",
    __name__,
    url_prefix="/api/v1/moderation/privacy",
    description="Readers' data rights (export, erasure), for moderators with a bearer token.",
)
blp.before_request(authenticate)
blp.after_request(never_stored)


class ExportQuerySchema(Schema):
    """Whose data to export."""

    email = EmailAddress(required=True, metadata={"format": "email"})


class ExportSchema(Schema):
    """Everything held about one email."""

    email = fields.String(required=True, metadata={"description": "As normalized."})
    blocked = fields.Boolean(required=True, metadata={"description": "On the block list."})
    approved_comments = fields.Integer(
        required=True, metadata={"description": "Approved comments counted for this email."}
    )
    comments = fields.List(fields.Nested(ModerationCommentSchema), required=True)


class EraseSchema(Schema):
    """Whose data to erase, and how."""

    email = EmailAddress(required=True, metadata={"format": "email"})
    mode = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(ERASE_MODES),
        metadata={"description": "anonymize or delete; the erase_mode setting when absent."},
    )


class ErasureSchema(Schema):
    """What an erasure did."""

    erased = fields.Integer(required=True, metadata={"description": "Comments erased."})
    mode = fields.String(required=True)
    blocked = fields.Boolean(
        required=True,
        metadata={"description": "The email stays on the block list (lift it there)."},
    )


@blp.route("/export")
@blp.doc(security=[{"moderatorToken": []}])
@blp.arguments(ExportQuerySchema(), location="query")
@blp.response(200, ExportSchema())
def export(query: dict[str, Any]) -> dict[str, Any]:
    """Export every comment and personal datum held for an email."""
    return services().data_rights.export(query["email"], g.moderator)


@blp.route("/erase", methods=["POST"])
@blp.doc(security=[{"moderatorToken": []}])
@blp.arguments(EraseSchema())
@blp.response(200, ErasureSchema())
def erase(request: dict[str, Any]) -> dict[str, Any]:
    """Anonymize or delete every comment written with an email, and all data kept about it."""
    return services().data_rights.erase(request["email"], request["mode"], g.moderator)
