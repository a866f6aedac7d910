"""Send imported comments to the store in batches, and settle their states afterwards.

A batch goes to `Store.add_many`: each comment is still written by its own atomic submit
script, as `Store.add` writes it, but a batch costs one round trip on one server.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.models import Act, Comment, Status
from service.store import Locator, Outcome, Store

Entry = tuple[Comment, bytes, Locator]


class BatchWriter:
    """Write comments through the submit script; in a dry run, only look at what is there."""

    def __init__(self, store: Store, dry_run: bool) -> None:
        self.store = store
        self.dry_run = dry_run

    def add(self, entries: Sequence[Entry]) -> list[Outcome]:
        """Write each comment once, in order; answer the script's outcome for each."""
        if self.dry_run:
            return self._look(entries)
        return self.store.add_many(entries)

    def _look(self, entries: Sequence[Entry]) -> list[Outcome]:
        """Tell, writing nothing, which comments are there already (by id or as duplicates)."""
        pipe = self.store.client.pipeline(transaction=False)
        for comment, _, locator in entries:
            pipe.hexists(self.store.keys.comments(locator.article_id), comment.comment_id)
            pipe.hget(self.store.keys.fingerprints(locator.article_id), comment.fingerprint)
        answers = pipe.execute()
        outcomes: list[Outcome] = []
        for exists, original in zip(answers[0::2], answers[1::2], strict=True):
            if exists:
                outcomes.append(Outcome("exists"))
            elif original:
                outcomes.append(Outcome("duplicate", original.decode()))
            else:
                outcomes.append(Outcome("created"))
        return outcomes

    def settle(self, moves: Sequence[tuple[str, Locator, Status]], act: Act) -> None:
        """Move comments written approved for their replies to their real state, deepest first."""
        if self.dry_run:
            return
        for comment_id, locator, status in reversed(moves):
            self.store.decide(comment_id, locator, status, act)
