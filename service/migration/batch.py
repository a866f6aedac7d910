"""Send imported comments to the store in batches, and settle their states afterwards.

A batch is one pipeline of submit scripts: each comment is still written by its own atomic
script, exactly as `Store.add` writes it (the arguments come from `Store.add` itself), but the
batch costs one round trip instead of one per comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from service.migration import NO_QUEUE_LIMIT
from service.models import Act, Comment, Status
from service.store import Locator, Outcome, Store, StoreUnavailable

Entry = tuple[Comment, bytes, Locator, tuple[str, str]]


class _PipelinedStore(Store):
    """A store whose write scripts are queued on a pipeline instead of sent one at a time."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.client, store.keys, events=store.events_kept > 0)
        self.pipe = store.client.pipeline(transaction=False)

    def _durably(self, script: Any, keys: list[Any], args: list[Any]) -> Any:
        script(keys=keys, args=args, client=self.pipe)
        return ["queued"]


def _outcome(answer: Any) -> Outcome:
    if isinstance(answer, Exception):
        raise StoreUnavailable(type(answer).__name__)
    parts = [part.decode() if isinstance(part, bytes) else str(part) for part in answer]
    return Outcome(*parts)


class BatchWriter:
    """Write comments through the submit script; in a dry run, only look at what is there."""

    def __init__(self, store: Store, dry_run: bool) -> None:
        self.store = store
        self.dry_run = dry_run
        self.queued = _PipelinedStore(store)

    def add(self, entries: Sequence[Entry]) -> list[Outcome]:
        """Write each comment once, in order; answer the script's outcome for each."""
        if self.dry_run:
            return self._look(entries)
        for comment, sealed, locator, flood_marks in entries:
            self.queued.add(comment, sealed, locator, flood_marks, 0, NO_QUEUE_LIMIT)
        try:
            answers = self.queued.pipe.execute(raise_on_error=False)
        except redis.RedisError as error:
            raise StoreUnavailable(type(error).__name__) from error
        return [_outcome(answer) for answer in answers]

    def _look(self, entries: Sequence[Entry]) -> list[Outcome]:
        """Tell, writing nothing, which comments are there already (by id or as duplicates)."""
        pipe = self.store.client.pipeline(transaction=False)
        for comment, _, locator, _ in entries:
            pipe.exists(self.store.keys.comment(locator.article_id, comment.comment_id))
            pipe.get(self.store.keys.duplicate(locator.article_id, locator.fingerprint))
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
