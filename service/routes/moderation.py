"""Moderation routes: the queue and decisions, for moderators holding a token."""

from __future__ import annotations

import hmac
from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from service.models import Decision
from service.routes import services
from service.schemas import (
    DecisionSchema,
    ModerationCommentSchema,
    ModerationListSchema,
    ModerationQuerySchema,
)

blp = Blueprint(
    "moderation",
    __name__,
    url_prefix="/api/v1/moderation",
    description="The moderation queue, for moderators with a bearer token.",
)


@blp.before_request
def authenticate() -> None:
    """Let a request through only with a moderator's token; remember who it is."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    moderator = None
    if scheme.lower() == "bearer" and presented:
        # Compare with every token, each in constant time, so timing tells nothing.
        for token, name in services().settings.moderator_tokens.items():
            if hmac.compare_digest(token.encode(), presented.strip().encode()):
                moderator = name
    if moderator is None:
        abort(401, message="A moderator token is required.")
    g.moderator = moderator


@blp.route("/comments")
class ModerationQueue(MethodView):
    """Comments by moderation state."""

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.arguments(ModerationQuerySchema(), location="query")
    @blp.response(200, ModerationListSchema())
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List comments in one state; pending ones oldest first."""
        return services().moderation.queue(
            query["status"], query["article_id"], query["limit"], query["cursor"]
        )


@blp.route("/comments/<comment_id:comment_id>")
class ModeratedComment(MethodView):
    """One comment, with the reader's private data."""

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.response(200, ModerationCommentSchema())
    def get(self, comment_id: str) -> dict[str, Any]:
        """Read one comment with its private data."""
        return services().moderation.get(comment_id)

    @blp.doc(security=[{"moderatorToken": []}])
    @blp.response(204)
    def delete(self, comment_id: str) -> None:
        """Delete a comment and its private data; its published replies stay."""
        services().moderation.delete(comment_id, g.moderator)


def _decision_view(decision: Decision) -> Any:
    @blp.doc(security=[{"moderatorToken": []}])
    @blp.arguments(DecisionSchema(), location="json", required=False)
    @blp.response(200, ModerationCommentSchema())
    def decide(fields: dict[str, Any], comment_id: str) -> dict[str, Any]:
        return services().moderation.decide(comment_id, decision, g.moderator, fields.get("reason"))

    decide.__doc__ = {
        Decision.APPROVE: "Approve a comment: publish it.",
        Decision.REJECT: "Reject a comment: take it out of publication.",
        Decision.SPAM: "Mark a comment as spam: take it out of publication.",
    }[decision]
    decide.__name__ = f"{decision}_comment"
    return decide


for _decision in Decision:
    blp.route(
        f"/comments/<comment_id:comment_id>/{_decision}",
        methods=["POST"],
        endpoint=f"{_decision}_comment",
    )(_decision_view(_decision))
