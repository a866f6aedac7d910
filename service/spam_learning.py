"""The learning spam filter's use cases: score a submission, learn from moderators' decisions
and imports, learn labelled files, forget what identifies a reader on erasure.

A decision teaches the filter: approved = legitimate; spam, or rejected with reason code `spam`
= spam; any other state = nothing (what was learned before is unlearned). Deleting a comment
keeps what was learned from it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service import records
from service.models import ReasonCode, Status
from service.pipelined_scripts import ScriptCall
from service.privacy import Privacy, PrivateDataError
from service.spam_filter import (
    HAM,
    SPAM,
    Totals,
    features,
    pack_record,
    probability,
    record_label,
    without_personal,
)
from service.spam_filter_store import LEARN_ATTEMPTS, SpamFilterStore
from service.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingReport:
    """What a training file taught."""

    spam: int
    legitimate: int


def label_of(fields: dict[str, str]) -> str | None:
    """Give what a stored comment's state teaches: spam, legitimate (ham) or nothing."""
    status = fields.get("status")
    if status == Status.APPROVED:
        return HAM
    if status == Status.SPAM:
        return SPAM
    if status == Status.REJECTED and fields.get("reason_code") == ReasonCode.SPAM:
        return SPAM
    return None


class SpamFilter:
    """Score comments and learn from decisions, through the filter's store."""

    def __init__(
        self, store: Store, filter_store: SpamFilterStore, privacy: Privacy, min_samples: int
    ) -> None:
        self.store = store
        self.filter_store = filter_store
        self.privacy = privacy
        self.min_samples = min_samples

    def score(self, name: str, body: str, website: str | None, email: str) -> float | None:
        """Give a submission's spam probability, or None while the filter has learned fewer
        than `filter_min_samples` comments of either kind."""
        return self.score_of(self.score_read(name, body, website, email).run())

    def score_read(self, name: str, body: str, website: str | None, email: str) -> ScriptCall:
        """The read that scores a submission, as a call that can ride in another read's round
        trip (the submission rules' facts); `score_of` its answer."""
        return self.filter_store.score_call(features(name, body, website, email).slots())

    def score_of(self, answer: Any) -> float | None:
        """Give the score of what a `score_read` answered (None: the filter abstains)."""
        totals, evidence, squares = self.filter_store.parse_score(answer)
        return probability(evidence, squares) if self._scores_yet(totals) else None

    def learned(self) -> dict[str, Any]:
        """Tell what the filter has learned, and whether it scores submissions yet."""
        totals = self.filter_store.totals()
        return {
            "learned_spam": totals.spam_comments,
            "learned_legitimate": totals.ham_comments,
            "min_samples": self.min_samples,
            "scoring": self._scores_yet(totals),
        }

    def _scores_yet(self, totals: Totals) -> bool:
        """Tell whether the filter has learned enough comments of each kind to score."""
        return min(totals.spam_comments, totals.ham_comments) >= self.min_samples

    def learn_comment(
        self,
        article_id: str,
        comment_id: str,
        read: tuple[dict[str, str], bytes | None] | None = None,
    ) -> str:
        """Bring what the filter learned from a comment in line with its state now; answer
        "learned", "unchanged" or "missing".

        Safe under concurrent decisions: each swap is one atomic step that takes out whatever
        was learned from the comment before, and the state is read again after every swap, so
        the last decision wins. `read` is the comment's record and sealed private data, as just
        read, if at hand.
        """
        outcome = "unchanged"
        if read is None:
            # The first swap takes out whatever was learned: only the comment need be read.
            [read] = self.store.moderation_records([(article_id, comment_id)])
        for _ in range(LEARN_ATTEMPTS):
            fields, sealed = read
            if not fields:
                return "missing"  # deleted: what was learned stays
            label = label_of(fields)
            record = b""
            if label is not None:
                email = self._email(sealed)
                found = features(
                    fields.get("name", ""), fields.get("body", ""), fields.get("website"), email
                )
                record = pack_record(label, found)
            # The swap, then the state read again, since a decision may have come in between.
            swapped, raw, learned = self.filter_store.replace_and_read(
                article_id, comment_id, record
            )
            if swapped == "unchanged":
                return outcome
            outcome = "learned"
            read = records.unpack_with_sealed(article_id, comment_id, raw)
            if not read[0] or record_label(learned) == label_of(read[0]):
                return outcome  # settled, or deleted meanwhile: what was learned stays
        log.warning("comment %s: the spam filter could not settle its label", comment_id)
        return outcome

    def learn_comments(self, comment_ids: Iterable[str]) -> int:
        """Learn many stored comments from their states (imports); answer how many taught."""
        ids = list(comment_ids)
        taught = 0
        for comment_id, locator in zip(ids, self.store.locate_many(ids), strict=True):
            if locator is not None:
                taught += self.learn_comment(locator.article_id, comment_id) == "learned"
        return taught

    def forget_reader(self, comment_ids: Iterable[str]) -> None:
        """Forget what identifies a reader in what was learned from their comments (the words
        of the name, the website, the email domain); keep the rest, with no record of it."""
        for comment_id in comment_ids:
            for _ in range(LEARN_ATTEMPTS):
                learned = self.filter_store.record(comment_id)
                if not learned:
                    break
                stripped = without_personal(learned)
                if self.filter_store.replace(comment_id, learned, stripped, keep=False) != (
                    "conflict"
                ):
                    break

    def train(self, examples: Iterable[tuple[str, bool]], batch: int = 500) -> TrainingReport:
        """Learn labelled texts (True = spam) for good: they are no comments, never undone."""
        spam = legitimate = 0
        pending: list[bytes] = []
        for text, is_spam in examples:
            pending.append(pack_record(SPAM if is_spam else HAM, features("", text)))
            spam += is_spam
            legitimate += not is_spam
            if len(pending) >= batch:
                self.filter_store.learn_examples(pending)
                pending = []
        if pending:
            self.filter_store.learn_examples(pending)
        return TrainingReport(spam, legitimate)

    def _email(self, sealed: bytes | None) -> str:
        if not sealed:
            return ""
        try:
            return self.privacy.decrypt(sealed).email
        except PrivateDataError:
            return ""
