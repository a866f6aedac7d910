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
    """Compute the library's calibrated probability straight from its linear models (the
    same arithmetic as scikit-learn's `predict_proba`, without its per-call checks, which cost
    ~10 ms); None when the model is not shaped as expected, and the library's own call is used."""
    try:
        vectorizer = model.vectorizer
        parts = [
            (
                calibrated.estimator.coef_.ravel(),
                float(calibrated.estimator.intercept_[0]),
                float(calibrated.calibrators[0].a_),
                float(calibrated.calibrators[0].b_),
            )
            for calibrated in model.model.calibrated_classifiers_
        ]
        classes = list(model.model.classes_)
    except (AttributeError, IndexError, TypeError):
        return None
    if classes != [0, 1] or not parts:
        return None

    def predict(texts: list[str]) -> list[float]:
        vectors = vectorizer.transform(texts)
        scores = []
        for row in range(vectors.shape[0]):
            vector = vectors.getrow(row)
            total = 0.0
            for coef, intercept, slope, offset in parts:
                decision = float(vector.dot(coef)[0]) + intercept
                total += 1.0 / (1.0 + math.exp(slope * decision + offset))
            scores.append(total / len(parts))
        return scores

    return predict
