"""Named moderators and their tokens: stored only as hashes, made and revoked from the CLI.

Tokens given in COMMENTS_MODERATOR_TOKENS keep working beside the stored ones; they can only be
revoked by removing them from the environment. A client presenting wrong tokens is slowed down.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from service.comments import rfc3339
from service.rate_limits import RateLimits
from service.store import Store

TOKEN_ID_LENGTH = 12


def token_hash(token: str) -> str:
    """Hash a token for storage and lookup (tokens are long random strings: no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Moderators:
    """Who may moderate, by token."""

    def __init__(
        self, store: Store, configured: dict[str, str], failures: RateLimits | None = None
    ) -> None:
        self.store = store
        self.configured = configured
        self.failures = failures

    def wait_before_trying(self, client: str) -> int | None:
        """Give the seconds a client must wait after too many wrong tokens, or None."""
        return self.failures.hit(client, count=False) if self.failures else None

    def count_failure(self, client: str) -> None:
        """Count one wrong token presented by a client."""
        if self.failures:
            self.failures.hit(client)

    def identify(self, presented: str) -> str | None:
        """Give the moderator a token belongs to, or None."""
        name = None
        # Compare with every configured token, each in constant time, so timing tells nothing.
        for token, moderator in self.configured.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                name = moderator
        if name is not None:
            return name
        record = self.store.moderator_by_token(token_hash(presented))
        return str(json.loads(record)["name"]) if record else None

    def create(self, name: str) -> str:
        """Make a new token for a moderator; answer it (it is shown only this once)."""
        token = secrets.token_urlsafe(32)
        record = {"name": name, "created_at": rfc3339(datetime.now(UTC))}
        self.store.set_moderator_token(token_hash(token), json.dumps(record))
        return token

    def list(self) -> list[dict[str, Any]]:
        """List stored tokens: moderator, creation time and a short id (never the token)."""
        tokens = [
            {"id": digest[:TOKEN_ID_LENGTH], **json.loads(record)}
            for digest, record in self.store.moderator_tokens().items()
        ]
        return sorted(tokens, key=lambda token: (token["name"], token["created_at"]))

    def configured_ids(self, name_or_id: str) -> tuple[str, ...]:
        """Give the ids of the environment's tokens of a moderator, or the one with this id:
        tokens this service cannot revoke."""
        return tuple(
            token_hash(token)[:TOKEN_ID_LENGTH]
            for token, name in self.configured.items()
            if name == name_or_id or token_hash(token)[:TOKEN_ID_LENGTH] == name_or_id
        )

    def revoke(self, name_or_id: str) -> int:
        """Revoke every token of a moderator, or the one token with this id; answer how many."""
        revoked = 0
        for digest, record in self.store.moderator_tokens().items():
            if json.loads(record)["name"] == name_or_id or digest[:TOKEN_ID_LENGTH] == name_or_id:
                revoked += self.store.set_moderator_token(digest, None)
        return revoked
