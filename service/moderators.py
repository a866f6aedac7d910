"""Named moderators and their tokens: stored only as hashes, made and revoked from the CLI.

Tokens given in COMMENTS_MODERATOR_TOKENS keep working beside the stored ones; they can only be
revoked by removing them from the environment. A client presenting wrong tokens is slowed down:
`limits` counts its wrong tokens, and once it reaches a limit a lock key keeps it out until the
window passes, so a client that never erred pays one read, beside its token's own lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.comments import rfc3339
from service.rate_limits import RateLimits
from service.store import Store

TOKEN_ID_LENGTH = 12


def token_hash(token: str) -> str:
    """Hash a token for storage and lookup (tokens are long random strings: no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    """What a moderator request earns: its moderator, or the seconds its client must wait."""

    moderator: str | None = None
    wait: int | None = None


class Moderators:
    """Who may moderate, by token."""

    def __init__(
        self, store: Store, configured: dict[str, str], failures: RateLimits | None = None
    ) -> None:
        self.store = store
        self.configured = configured
        self.failures = failures if failures is not None and failures.items else None

    def sign_in(self, client: str, presented: str) -> SignIn:
        """Give the moderator a token belongs to, unless its client must wait after too many
        wrong tokens (whatever token it sends); count a wrong one. No token counts as none."""
        name = self._configured(presented) if presented else None
        lookup = token_hash(presented) if presented and name is None else None
        locked_ms, record = self.store.sign_in(client if self.failures else None, lookup)
        if locked_ms is not None:
            return SignIn(wait=max(1, math.ceil(locked_ms / 1000)))
        if record is not None:
            name = str(json.loads(record)["name"])
        if presented and name is None:
            self._count_failure(client)
        return SignIn(moderator=name)

    def _configured(self, presented: str) -> str | None:
        """Give the moderator of a token from the environment, or None."""
        name = None
        # Compare with every configured token, each in constant time, so timing tells nothing.
        for token, moderator in self.configured.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                name = moderator
        return name

    def _count_failure(self, client: str) -> None:
        """Count one wrong token; once a limit is reached, lock the client out until it passes."""
        if self.failures is None:
            return
        self.failures.hit(client)
        wait = self.failures.wait(client)
        if wait is not None:
            self.store.lock_sign_in(client, wait)

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
