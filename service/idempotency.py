"""Idempotency-Key: a retried submission gets the first answer, and never a second comment.

Only an answer that says what the comment became (201, 202, or the 303 of an HTML form) is kept
and replayed. A refusal stored nothing and depends on what can change (the flood mark and rate
limits expire, the queue drains, an article reopens, a block is lifted, a duplicate's original is
deleted, a parent is published), so it frees the key: a retry with the same key, after
`Retry-After` or once the reason is gone, is judged afresh and can still store only one comment.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from http import HTTPStatus

from service.errors import ServiceError
from service.store import Store

KEEP_SECONDS = 24 * 3600
# How long a request may hold a key before its answer is kept; a crashed one frees it after this.
CLAIM_SECONDS = 30
WAIT_SECONDS = 10.0
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("Location", "Retry-After", "Content-Type")


def is_kept(status: int) -> bool:
    """Tell whether an answer says what the comment became, and so is replayed to retries."""
    return status < 400


class IdempotencyError(ServiceError):
    """An Idempotency-Key that cannot be honoured as sent."""

    def __init__(self, code: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class KeptAnswer:
    """The first answer given for a key."""

    status: int
    body: bytes
    headers: dict[str, str]


class IdempotentSubmissions:
    """Claim a key for one request, keep its answer, and replay it to every retry."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def key_hash(key: str) -> str:
        """Hash a client's key so that no client text ends up in a key name."""
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise IdempotencyError(
                HTTPStatus.BAD_REQUEST,
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            )
        return hashlib.sha256(key.encode()).hexdigest()

    def begin(self, key_hash: str, fingerprint: str) -> KeptAnswer | None:
        """Claim the key, or give the answer kept for it (waiting while another request runs)."""
        claim = json.dumps({"fingerprint": fingerprint})
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            stored = self.store.claim_idempotency_key(key_hash, claim, CLAIM_SECONDS)
            if stored is None:
                return None
            if stored:
                record = json.loads(stored)
                if record["fingerprint"] != fingerprint:
                    raise IdempotencyError(
                        HTTPStatus.UNPROCESSABLE_ENTITY,
                        "This Idempotency-Key was used for a different submission.",
                    )
                if "status" in record:
                    return KeptAnswer(record["status"], record["body"].encode(), record["headers"])
            if time.monotonic() >= deadline:
                raise IdempotencyError(
                    HTTPStatus.CONFLICT,
                    "A request with this Idempotency-Key is still being handled.",
                )
            time.sleep(0.05)

    def keep(self, key_hash: str, fingerprint: str, answer: KeptAnswer) -> None:
        """Keep an accepted submission's answer for a day; free the key after any refusal."""
        if not is_kept(answer.status):
            self.store.release_idempotency_key(key_hash)
            return
        record = {
            "fingerprint": fingerprint,
            "status": answer.status,
            "body": answer.body.decode(),
            "headers": answer.headers,
        }
        self.store.keep_idempotent_answer(key_hash, json.dumps(record), KEEP_SECONDS)
