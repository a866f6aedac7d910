"""The comment and its moderation states: pure data, no I/O."""

from __future__ import annotations

import dataclasses
import json
from enum import StrEnum

# Public threads nest this many levels (top-level comments are depth 1); every reply deeper
# than that is listed flat among the replies of its ancestor at this depth.
MAX_DISPLAY_DEPTH = 5


class Status(StrEnum):
    """Where a comment stands in moderation."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SPAM = "spam"
    # Deleted by a moderator but kept, without name, text or private data, because published
    # replies hang under it.
    DELETED = "deleted"

    @classmethod
    def indexed(cls) -> list[Status]:
        """List the states that have a queue of their own, in a fixed order."""
        return [cls.PENDING, cls.APPROVED, cls.REJECTED, cls.SPAM]


class Decision(StrEnum):
    """What a moderator can decide about a comment."""

    APPROVE = "approve"
    REJECT = "reject"
    SPAM = "spam"

    @property
    def status(self) -> Status:
        """Give the state this decision puts a comment in."""
        return {
            Decision.APPROVE: Status.APPROVED,
            Decision.REJECT: Status.REJECTED,
            Decision.SPAM: Status.SPAM,
        }[self]


class ReasonCode(StrEnum):
    """Why a moderator rejected a comment (moderators only ever see it)."""

    SPAM = "spam"
    OFF_TOPIC = "off_topic"
    ABUSIVE = "abusive"
    PERSONAL_ATTACK = "personal_attack"
    ADVERTISING = "advertising"
    OTHER = "other"


@dataclasses.dataclass(frozen=True)
class Act:
    """Who does a moderation action, when, and why."""

    moderator: str
    at: str
    reason: str | None = None
    reason_code: ReasonCode | None = None


@dataclasses.dataclass(frozen=True)
class PrivateData:
    """What a reader gave or sent that is never published."""

    email: str
    ip: str
    user_agent: str


@dataclasses.dataclass(frozen=True)
class Comment:
    """One reader's comment, as stored."""

    comment_id: str
    article_id: str
    parent_id: str | None
    root_id: str
    anchor_id: str | None
    depth: int
    name: str
    website: str | None
    body: str
    body_html: str
    created_at: str
    created_ms: int
    avatar: str
    status: Status
    decided_by: str | None = None
    decided_at: str | None = None
    reason: str | None = None
    # Why the submission rules put it where they did (never the email).
    reasons: tuple[str, ...] = ()
    # Written by a moderator, in the site's name.
    staff: bool = False
    # When an imported comment joined the moderation queue here (its creation is older); the
    # purge counts a pending comment's age from this, else from its creation.
    queued_ms: int | None = None
    # Kept with the record for the lookups by email and the duplicate rule, never shown: the
    # keyed hash of the author's email ("" for none) and the duplicate fingerprint.
    email_hash: str = ""
    fingerprint: str = ""

    def to_fields(self) -> dict[str, str]:
        """Flatten into the string fields of a Redis hash (absent values are left out)."""
        fields = {
            "id": self.comment_id,
            "article_id": self.article_id,
            "parent_id": self.parent_id,
            "root_id": self.root_id,
            "anchor_id": self.anchor_id,
            "depth": str(self.depth),
            "name": self.name,
            "website": self.website,
            "body": self.body,
            "body_html": self.body_html,
            "created_at": self.created_at,
            "created_ms": str(self.created_ms),
            "avatar": self.avatar,
            "status": str(self.status),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "reason": self.reason,
            "reasons": json.dumps(list(self.reasons)) if self.reasons else None,
            "staff": "1" if self.staff else None,
            "queued_ms": str(self.queued_ms) if self.queued_ms is not None else None,
        }
        return {key: value for key, value in fields.items() if value is not None}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Comment:
        """Rebuild a comment from its Redis hash."""
        return cls(
            comment_id=fields["id"],
            article_id=fields["article_id"],
            parent_id=fields.get("parent_id"),
            root_id=fields["root_id"],
            anchor_id=fields.get("anchor_id"),
            depth=int(fields["depth"]),
            name=fields.get("name", ""),
            website=fields.get("website"),
            body=fields.get("body", ""),
            body_html=fields.get("body_html", ""),
            created_at=fields["created_at"],
            created_ms=int(fields["created_ms"]),
            avatar=fields.get("avatar", ""),
            status=Status(fields["status"]),
            decided_by=fields.get("decided_by"),
            decided_at=fields.get("decided_at"),
            reason=fields.get("reason"),
            reasons=tuple(json.loads(fields.get("reasons", "[]"))),
            staff=fields.get("staff") == "1",
            queued_ms=int(fields["queued_ms"]) if fields.get("queued_ms") else None,
        )


def anchor_for_reply(parent: Comment) -> str:
    """Choose the comment a new reply to `parent` is listed under in the public thread."""
    if parent.depth <= MAX_DISPLAY_DEPTH or parent.anchor_id is None:
        return parent.comment_id
    # Below the deepest level, replies are listed flat under that level's ancestor.
    return parent.anchor_id


class ReportReason(StrEnum):
    """Why a reader reports a published comment (moderators see it)."""

    SPAM = "spam"
    ABUSIVE = "abusive"
    OFF_TOPIC = "off_topic"
    OTHER = "other"
