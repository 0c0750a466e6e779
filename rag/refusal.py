"""Deciding to refuse: signals of whether the retrieved evidence answers the question, and a
calibrated model.

Signals computed from the question and the chunks retrieved for it (no model call, a few
milliseconds):

- ``best_similarity``: the best chunk's cosine to the question (the one signal used before);
- ``sentence_coverage``: the share of the question's terms (stemmed, stop words removed) held
  by the single best-covering sentence of the retrieved chunks (the evidence an answer would
  lead with);
- ``term_coverage``: the share held by the retrieved chunks together (computed and reported, not
  used by the model: on the handbook dev set it made the cross-validated refusal rate worse);
- ``weakest_term_similarity`` (when the caller computes it, :mod:`rag.term_match`: it needs the
  embedder): of the question's content words, the one least like any word of the evidence, by
  meaning; its best cosine.

A :class:`RefusalModel` is a logistic regression over these signals, fitted per index on that
index's golden questions (answerable and unanswerable) when a version is built, with the threshold
chosen so that a new answerable question is refused with probability at most ``max_false_refusal``
(:func:`conformal_threshold`; fewer of the golden questions themselves are refused); nested
cross-validation (model and threshold refitted per fold) says what to expect on new questions. An
index whose golden set has answerable questions only (too few unanswerable ones to learn from) gets
a ``floor`` instead: refuse below the best similarity that keeps the same false-refusal limit for new
questions like its own, so its refusals are calibrated to its documents rather than to one global number.
The model, the data it was fitted on and its figures are recorded in the version's manifest; a
version without one refuses below the similarity threshold of the settings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from indexes.types import SearchHit
from ingest.sparse import SparseEncoder
from rag.sentences import sentence_spans

__all__ = [
    "FEATURES",
    "WORDLESS_FEATURES",
    "RefusalModel",
    "calibrate",
    "calibrate_floor",
    "conformal_threshold",
    "held_out_refusals",
    "refusal_signals",
]

FEATURES = ("best_similarity", "weakest_term_similarity")
"""What a model fitted now reads. Under cross-validation at 5% false refusals these two refused more
unanswerable questions than best similarity with sentence coverage (the features before, which
versions built then still read) on both question sets measured: the handbook dev set and the sample
handbook's golden set (docs/benchmarks.md, "Issue 11, session 11")."""

WORDLESS_FEATURES = ("best_similarity", "sentence_coverage")
"""The features before session 11, fitted when ``RAG_REFUSAL_WEAKEST_TERM`` is off: no model call
at question time."""


def refusal_signals(
    question: str,
    hits: Sequence[SearchHit],
    terms: SparseEncoder,
    focus: str | None = None,
    *,
    weakest_term: float | None = None,
) -> dict[str, float]:
    """The signals (see the module's docstring) for ``question`` and its retrieved ``hits`` (best first);
    ``weakest_term_similarity`` is ``weakest_term`` (``rag.term_match``), left out when None.

    Coverage is measured on the question's ``focus`` (``rag.question_scope``) when given: a word that
    only names the organisation is held by most of its pages and says nothing about an answer.
    """
    extra = {} if weakest_term is None else {"weakest_term_similarity": weakest_term}
    if not hits:
        return {"best_similarity": 0.0, "sentence_coverage": 0.0, "term_coverage": 0.0, **extra}
    query = set(terms.encode_query(focus or question).indices)
    total = max(len(query), 1)
    seen: set[int] = set()
    best_sentence = 0.0
    for hit in hits:
        for sent in sentence_spans(hit.chunk.text):
            found = query & set(terms.encode_query(sent.text).indices)
            seen |= found
            share = len(found) / total
            if share > best_sentence:
                best_sentence = share
    return {
        "best_similarity": max(h.similarity for h in hits),
        "term_coverage": len(seen) / total,
        "sentence_coverage": best_sentence,
        **extra,
    }


class RefusalModel(BaseModel):
    """A fitted refusal decision: refuse when :meth:`answerability` is below ``threshold``.

    ``logistic``: answerability is the model's probability. ``floor``: it is the one feature's value
    itself (the best similarity), fitted from answerable questions alone."""

    model_config = ConfigDict(frozen=True)

    method: Literal["logistic", "floor"] = "logistic"
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    fitted_on: dict[str, Any]
    """name and sha256 of the question file, answerable and unanswerable counts."""
    in_sample: dict[str, float]
    """false_refusal and refused_unanswerable on the questions it was fitted on."""
    cross_validated: dict[str, float]
    """The same figures from k-fold cross-validation: what to expect on new questions."""

    def answerability(self, signals: dict[str, float]) -> float:
        """The model's probability that the evidence answers the question (``floor``: the signal itself)."""
        z = self.bias + sum(w * signals.get(f, 0.0) for f, w in zip(self.features, self.weights, strict=True))
        if self.method == "floor":
            return z
        return 1.0 / (1.0 + math.exp(-z))

    def refuses(self, signals: dict[str, float]) -> bool:
        """True when the question should be refused."""
        return self.answerability(signals) < self.threshold


def conformal_threshold(scores: Sequence[float], answerable: Sequence[bool], max_false_refusal: float) -> float:
    """The threshold under which a *new* answerable question falls with probability at most
    ``max_false_refusal``, from the scores of the n answerable questions among ``scores``.

    Split-conformal bound: a new question's score is as likely to take any of the n + 1 ranks among
    them, so refusing below the k-th lowest answerable score refuses it with probability k / (n + 1);
    k = floor(max_false_refusal * (n + 1)) keeps that within the limit, and the questions fitted on
    see k - 1 refusals. (Refusing the floor(max_false_refusal * n) lowest ones, the rule before,
    holds the limit on them only: a new question was refused with probability up to 6.2% at 5%
    with 64 answerable questions.) With fewer answerable questions than the limit can bound
    (n + 1 < 1 / max_false_refusal) it refuses below the lowest one, and the expected rate is
    1 / (n + 1): the cross-validated figures report it.
    """
    positives = sorted(s for s, a in zip(scores, answerable, strict=True) if a)
    k = max(1, math.floor(max_false_refusal * (len(positives) + 1) + 1e-9))
    return positives[min(k, len(positives)) - 1] - 1e-9


def _rates(scores: Sequence[float], answerable: Sequence[bool], threshold: float) -> dict[str, float]:
    pos = [s for s, a in zip(scores, answerable, strict=True) if a]
    neg = [s for s, a in zip(scores, answerable, strict=True) if not a]
    return {
        "false_refusal": round(sum(s < threshold for s in pos) / max(len(pos), 1), 4),
        "refused_unanswerable": round(sum(s < threshold for s in neg) / max(len(neg), 1), 4),
    }


def calibrate(
    signals: Sequence[dict[str, float]],
    answerable: Sequence[bool],
    *,
    fitted_on: dict[str, Any],
    max_false_refusal: float = 0.05,
    folds: int = 5,
    regularization: float = 1.0,
    features: tuple[str, ...] = FEATURES,
) -> RefusalModel:
    """Fit a :class:`RefusalModel` over ``features`` on golden questions' signals (answerable True/False).

    The threshold is :func:`conformal_threshold` of the fitted model's scores: a new answerable
    question like the golden ones is refused with probability at most ``max_false_refusal``, and
    fewer than that share of the golden ones are. ``cross_validated`` says what to expect on new questions: each of
    ``folds`` stratified folds (fixed seed) is judged by a model and threshold fitted the same way on
    the other folds only. With fewer than ``folds`` unanswerable questions the result is a ``floor``
    on the best similarity (see :func:`calibrate_floor`). Raises ``ValueError`` with fewer than
    ``folds`` answerable questions.
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(answerable, dtype=bool)
    if int(y.sum()) < folds:
        raise ValueError(f"calibration needs at least {folds} answerable questions")
    if int((~y).sum()) < folds:
        return calibrate_floor(
            signals, answerable, fitted_on=fitted_on, max_false_refusal=max_false_refusal, folds=folds
        )
    x = np.asarray([[s[f] for f in features] for s in signals], dtype=float)

    def fit(rows: Any, labels: Any) -> tuple[Any, float]:
        model = LogisticRegression(C=regularization, max_iter=1000).fit(rows, labels)
        scores = model.predict_proba(rows)[:, 1].tolist()
        return model, conformal_threshold(scores, labels.tolist(), max_false_refusal)

    held_out_refused = np.asarray(
        held_out_refusals(
            signals,
            answerable,
            max_false_refusal=max_false_refusal,
            folds=folds,
            regularization=regularization,
            features=features,
        )
    )
    model, _ = fit(x, y)
    fitted = RefusalModel(
        features=features,
        weights=tuple(round(float(w), 6) for w in model.coef_[0]),
        bias=round(float(model.intercept_[0]), 6),
        threshold=0.0,
        fitted_on=fitted_on,
        in_sample={},
        cross_validated={
            "false_refusal": round(float(held_out_refused[y].mean()), 4),
            "refused_unanswerable": round(float(held_out_refused[~y].mean()), 4),
        },
    )
    # the threshold is chosen on the scores of the model as stored (rounded weights), rounded down
    threshold = conformal_threshold([fitted.answerability(s) for s in signals], y.tolist(), max_false_refusal)
    fitted = fitted.model_copy(update={"threshold": math.floor(threshold * 1e6) / 1e6})
    in_sample = [fitted.answerability(s) for s in signals]
    return fitted.model_copy(update={"in_sample": _rates(in_sample, y.tolist(), fitted.threshold)})


def held_out_refusals(
    signals: Sequence[dict[str, float]],
    answerable: Sequence[bool],
    *,
    max_false_refusal: float = 0.05,
    folds: int = 5,
    regularization: float = 1.0,
    repeats: int = 5,
    features: tuple[str, ...] = FEATURES,
) -> list[float]:
    """For each question, the share of ``repeats`` k-fold cross-validations in which a model fitted
    without it refuses it (0.0 never, 1.0 always).

    Each of ``folds`` stratified folds is judged by a logistic model and threshold fitted as
    :func:`calibrate` fits them, on the other folds only: what a calibrated index would do with
    questions it was not calibrated on. The folds are drawn ``repeats`` times (seeds 0 to
    ``repeats - 1``, so the result is reproducible): with a hundred questions one draw of folds
    moves the rates by a question or two, the mean of five much less. Raises ``ValueError`` with
    fewer than ``folds`` answerable or unanswerable questions.
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(answerable, dtype=bool)
    if int(y.sum()) < folds or int((~y).sum()) < folds:
        raise ValueError(f"cross-validation needs at least {folds} answerable and {folds} unanswerable questions")
    x = np.asarray([[s[f] for f in features] for s in signals], dtype=float)
    refused = np.zeros(len(y), dtype=float)
    for seed in range(repeats):
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
            model = LogisticRegression(C=regularization, max_iter=1000).fit(x[train], y[train])
            fitted = model.predict_proba(x[train])[:, 1].tolist()
            threshold = conformal_threshold(fitted, y[train].tolist(), max_false_refusal)
            refused[test] += model.predict_proba(x[test])[:, 1] < threshold
    return [round(float(r) / repeats, 6) for r in refused]


def calibrate_floor(
    signals: Sequence[dict[str, float]],
    answerable: Sequence[bool],
    *,
    fitted_on: dict[str, Any],
    max_false_refusal: float = 0.05,
    folds: int = 5,
    feature: str = "best_similarity",
) -> RefusalModel:
    """A ``floor`` model: refuse below the ``feature`` value under which a new answerable question
    falls with probability at most ``max_false_refusal`` (:func:`conformal_threshold` of the
    answerable questions' values; the few unanswerable ones, if any, are only counted).

    ``cross_validated["false_refusal"]`` is each of ``folds`` folds judged by the floor of the other
    folds (fixed seed); with no unanswerable question there is no refusal rate to report for them.
    Raises ``ValueError`` with fewer than ``folds`` answerable questions.
    """
    import numpy as np
    from sklearn.model_selection import KFold

    values = np.asarray([s[feature] for s in signals], dtype=float)
    y = np.asarray(answerable, dtype=bool)
    if int(y.sum()) < folds:
        raise ValueError(f"calibration needs at least {folds} answerable questions")
    positives = values[y]
    refused = np.zeros(len(positives), dtype=bool)
    for train, test in KFold(folds, shuffle=True, random_state=0).split(positives):
        floor = conformal_threshold(positives[train].tolist(), [True] * len(train), max_false_refusal)
        refused[test] = positives[test] < floor
    fitted = conformal_threshold(positives.tolist(), [True] * len(positives), max_false_refusal)
    threshold = math.floor(fitted * 1e6) / 1e6
    in_sample = {"false_refusal": round(float((positives < threshold).mean()), 4)}
    if (~y).any():
        in_sample["refused_unanswerable"] = round(float((values[~y] < threshold).mean()), 4)
    return RefusalModel(
        method="floor",
        features=(feature,),
        weights=(1.0,),
        bias=0.0,
        threshold=threshold,
        fitted_on=fitted_on,
        in_sample=in_sample,
        cross_validated={"false_refusal": round(float(refused.mean()), 4)},
    )
