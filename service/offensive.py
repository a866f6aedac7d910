"""Offensive language: an offline score from alt-profanity-check's own model (a linear SVM over
words and word pairs, calibrated, trained on about 200,000 labelled comments).

The library is an optional extra (`pip install 'news-comments[offensive]'`: scikit-learn and
its model, about 300 MB installed, some seconds to load); without it, or with
`offensive_threshold = 0`, the rule is off and the service says so at start. No text leaves the
service.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class OffensiveLanguage:
    """Score texts 0 (clean) to 1 (offensive) with the library's model, loaded once."""

    def __init__(self, predict: Callable[[list[str]], Any]) -> None:
        self._predict = predict

    @classmethod
    def load(cls, threshold: float) -> OffensiveLanguage | None:
        """Load the model, or give None (the rule is off), saying why in the log."""
        if threshold <= 0:
            log.info("offensive language rule off (offensive_threshold = 0)")
            return None
        try:
            from profanity_check import profanity_check as model
        except ImportError:
            log.warning(
                "offensive language rule off: alt-profanity-check is not installed "
                "(pip install 'news-comments[offensive]')"
            )
            return None
        return cls(_fast_predictor(model) or model.predict_prob)

    def score(self, text: str) -> float:
        """Give the probability that a text is offensive."""
        return float(self._predict([text])[0])


def _fast_predictor(model: Any) -> Callable[[list[str]], list[float]] | None:
    """Compute the library's calibrated probability straight from its models: the vectorizer's
    own analyzer, then its tf-idf weights, the l2 norm and each linear model's decision, in plain
    Python (the same arithmetic as scikit-learn's `transform` and `predict_proba`, without their
    sparse matrices and per-call checks, which cost ~1 ms and ~10 ms). None when the model is not
    shaped as expected, and the library's own call is used."""
    try:
        vectorizer = model.vectorizer
        calibrated = model.model.calibrated_classifiers_
        coefs = [part.estimator.coef_.ravel().tolist() for part in calibrated]
        parts = [
            (
                float(part.estimator.intercept_[0]),
                float(part.calibrators[0].a_),
                float(part.calibrators[0].b_),
            )
            for part in calibrated
        ]
        classes = list(model.model.classes_)
        shaped = (
            vectorizer.get_params()["norm"] == "l2"
            and vectorizer.get_params()["use_idf"]
            and not vectorizer.get_params()["sublinear_tf"]
            and not vectorizer.get_params()["binary"]
        )
        analyze = vectorizer.build_analyzer()
        idf = vectorizer.idf_.tolist()
        weights = {
            token: (idf[index], tuple(coef[index] for coef in coefs))
            for token, index in vectorizer.vocabulary_.items()
        }
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    if classes != [0, 1] or not parts or not shaped:
        return None

    def predict(texts: list[str]) -> list[float]:
        scores = []
        for text in texts:
            counts: dict[str, int] = {}
            for token in analyze(text):
                if token in weights:
                    counts[token] = counts.get(token, 0) + 1
            values = [
                (count * weights[token][0], weights[token][1]) for token, count in counts.items()
            ]
            norm = math.sqrt(sum(value * value for value, _ in values)) or 1.0
            total = 0.0
            for number, (intercept, slope, offset) in enumerate(parts):
                decision = sum(value * coef[number] for value, coef in values) / norm + intercept
                total += 1.0 / (1.0 + math.exp(slope * decision + offset))
            scores.append(total / len(parts))
        return scores

    return predict
