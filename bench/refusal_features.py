"""Which refusal features refuse the most unanswerable questions at the false-refusal limit, on two
question sets: the handbook dev set (../shared/data/handbook-qa-dev over ../shared/data/handbooks)
and the sample handbook's golden set (ingest/sample_handbook_golden over ingest/sample_handbook).

For every question the product's own signals are computed (``Assistant.refusal_signals``: the
retrieval of an ask, the question's focus, the version's embedder). Each feature set is then judged
the way ``rag.refusal.calibrate`` fits a model: a logistic regression with its threshold at
``rag.refusal.conformal_threshold`` (5%), fitted on four folds and applied to the fifth; 5 stratified
folds drawn with 20 seeds, averaged. Reports false refusals and unanswerable questions refused per
feature set and question set, the two first sets also with the threshold rule before session 11
(``previous_rule``), and what the weakest term similarity costs per question with an empty word
cache and with a warm one (the total of the cold pass is what a build calibrated on the set adds).

``--probes`` also judges signals tried in session 12 and not adopted, each with best similarity
(:func:`probe_signals`): the weakest term over the words of the question's asking sentences only;
the weakest term per window of the evidence (a chunk, one sentence, three sentences: every asked
word in one place), also counting only windows that hold a value of the kind the question asks for
(``rag.answering.question_shape``); each at 3, 5 and 10 chunks of evidence. Since session 13 it also
judges the question's form (yes/no, or asking for a value) as a feature beside the product's two
(:func:`question_form_probe`).

Run: ``python bench/refusal_features.py [--data-dir <a rag eval data folder>] [--probes]`` (the handbooks
build is reused from that folder when it holds them; else built into a temporary one, about 4
minutes on 2 cores). Writes ``bench/results/refusal_features.json``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from indexes.refs import IndexRef
from rag import term_match
from rag.answering.question_shape import expected_answer
from rag.calibration import load_calibration_set
from rag.evaluation.session import prepare_corpus_version
from rag.refusal import conformal_threshold
from rag.sentences import sentence_spans
from rag.settings import Settings
from rag.wiring import build_services

FEATURE_SETS = (
    ("best_similarity",),
    ("best_similarity", "sentence_coverage"),
    ("best_similarity", "weakest_term_similarity"),
    ("best_similarity", "sentence_coverage", "weakest_term_similarity"),
)
SEEDS = 20


def previous_threshold(scores: list[float], answerable: list[bool], max_false_refusal: float) -> float:
    """The rule before session 11: refuse the floor(max_false_refusal * n) lowest answerable scores."""
    positives = sorted(s for s, a in zip(scores, answerable, strict=True) if a)
    return positives[min(math.floor(max_false_refusal * len(positives)), len(positives) - 1)] - 1e-9


def cross_validated(
    rows: list[dict[str, Any]],
    features: tuple[str, ...],
    rule: Callable[..., float] = conformal_threshold,
    seeds: int = SEEDS,
) -> dict[str, float]:
    """Mean false-refusal and unanswerable-refused rates of a logistic model over ``features``
    (``rows`` hold them and ``answerable``), 5 folds x ``seeds`` draws, the threshold chosen by
    ``rule`` at 5% on the training folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray([r["answerable"] for r in rows], dtype=bool)
    x = np.asarray([[r[f] for f in features] for r in rows], dtype=float)
    fr, refused = [], []
    for seed in range(seeds):
        out = np.zeros(len(y), dtype=bool)
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
            model = LogisticRegression(max_iter=1000).fit(x[tr], y[tr])
            threshold = rule(model.predict_proba(x[tr])[:, 1].tolist(), y[tr].tolist(), 0.05)
            out[te] = model.predict_proba(x[te])[:, 1] < threshold
        fr.append(out[y].mean())
        refused.append(out[~y].mean())
    return {"false_refusal": round(float(np.mean(fr)), 3), "refused_unanswerable": round(float(np.mean(refused)), 3)}


PROBE_DEPTHS = (3, 5, 10)
PROBE_WINDOWS = {"chunk": 0, "sentence": 1, "three sentences": 3}


def _asked_words(question: str, focus: str) -> set[str]:
    """The focus's content words that occur in the question's asking sentences (those ending in "?";
    all sentences when none does): context such as "my husband is a veteran" is left out."""
    sentences = [s.text for s in sentence_spans(question)]
    asking = [s for s in sentences if s.strip().endswith("?")] or sentences
    return {w for s in asking for w in term_match.content_words(s)} & set(term_match.content_words(focus))


def probe_signals(question: str, focus: str, hits: list[Any], embedder: Any) -> dict[str, float]:
    """Session 12's candidate signals for one question (see the module's docstring) over ``hits``."""
    asked = term_match.content_words(focus)
    texts = [h.chunk.text for h in hits]
    windows: dict[str, list[str]] = {}
    for name, size in PROBE_WINDOWS.items():
        windows[name] = []
        for text in texts:
            sents = [s.text for s in sentence_spans(text)]
            if size == 0 or not sents:
                windows[name].append(text)
            else:
                windows[name] += [" ".join(sents[i : i + size]) for i in range(max(1, len(sents) - size + 1))]
    held = list(dict.fromkeys(w for t in texts for w in term_match.content_words(t)))
    if not asked or not held:
        return (
            {"asked_term": 1.0 if not asked else 0.0}
            | {f"joint {n}": 0.0 for n in windows}
            | {f"joint {n}, value kind": 0.0 for n in windows}
        )
    vectors = term_match._word_vectors(list(dict.fromkeys([*asked, *held])), embedder)
    index = {w: i for i, w in enumerate(dict.fromkeys([*asked, *held]))}
    a = vectors[[index[w] for w in asked]]
    every = (a @ vectors[[index[w] for w in held]].T).max(axis=1)
    best = {w: 1.0 if w in set(held) else float(x) for w, x in zip(asked, every, strict=True)}
    ask_words = _asked_words(question, focus)
    out = {"asked_term": min((best[w] for w in ask_words), default=1.0)}
    kind = expected_answer(question)
    for name, group in windows.items():
        scores, typed = [], []
        for text in group:
            words = term_match.content_words(text)
            if not words:
                continue
            sims = (a @ vectors[[index[w] for w in words]].T).max(axis=1)
            score = float(np.where([w in set(words) for w in asked], 1.0, sims).min())
            scores.append(score)
            if kind is None or kind.search(text):
                typed.append(score)
        out[f"joint {name}"] = max(scores, default=0.0)
        out[f"joint {name}, value kind"] = max(typed, default=0.0)
    return out


def probes(s: Any, version: Any, questions: Sequence[tuple[str, bool]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each probe signal with best similarity, cross-validated like the feature sets, per evidence depth."""
    retriever = s.assistant.retriever
    embedder = retriever.embedder_for(version)
    out: dict[str, Any] = {}
    for depth in PROBE_DEPTHS:
        table = []
        for (question, _), row in zip(questions, rows, strict=True):
            hits = retriever.search(version, question, depth)
            focus = retriever.focus(version, question)
            extra = probe_signals(question, focus, hits, embedder)
            weakest = term_match.weakest_term_similarity(focus, hits, embedder)
            table.append({**row, **extra, "weakest at depth": weakest})
        names = ["weakest at depth", *(k for k in table[0] if k.startswith(("asked", "joint")))]
        out[f"top {depth}"] = {f"best_similarity + {n}": cross_validated(table, ("best_similarity", n)) for n in names}
    return out


def signals(
    data: Path, corpus: Path, index: str, questions: Path, with_probes: bool = False
) -> tuple[list[dict[str, Any]], dict[str, float], dict[str, Any]]:
    """The product's refusal signals for every question of ``questions`` over ``corpus``, and what the
    weakest term similarity costs per question (ms) with an empty word cache and then a warm one, and
    (``with_probes``) the probes' cross-validated figures."""
    s = build_services(Settings(_env_file=None, data_dir=data, worker_enabled=False))
    try:
        prepare_corpus_version(s, corpus, index)
        version = s.registry.resolve(IndexRef(index))
        qset = load_calibration_set(questions)
        rows = [
            {"answerable": answerable, **s.assistant.refusal_signals(version, question)}
            for question, answerable in qset.questions
        ]
        retriever = s.assistant.retriever
        embedder = retriever.embedder_for(version)
        asked = [(retriever.focus(version, q), retriever.search(version, q, 5)) for q, _ in qset.questions]
        term_match.clear_word_vectors()  # the cold pass starts from an empty word cache
        cost: dict[str, float] = {}
        for label in ("cold", "warm"):
            ms = []
            for focus, hits in asked:
                t0 = time.perf_counter()
                term_match.weakest_term_similarity(focus, hits, embedder)
                ms.append((time.perf_counter() - t0) * 1000)
            cost |= {f"{label}_p50_ms": round(float(np.percentile(ms, 50)), 1)}
            cost |= {f"{label}_p95_ms": round(float(np.percentile(ms, 95)), 1)}
            cost |= {f"{label}_total_s": round(sum(ms) / 1000, 1)}
        return rows, cost, probes(s, version, qset.questions, rows) if with_probes else {}
    finally:
        s.close()


_AUXILIARY = re.compile(
    r"^(do|does|did|can|could|will|would|is|are|am|was|were|should|shall|may|must|has|have|if)\b", re.IGNORECASE
)


def yes_no(question: str) -> float:
    """1.0 when the question's last asking sentence is a yes/no question (it opens with an auxiliary
    verb, or "if": "Does TTS pay ...?", "If I resign, will ...?"), else 0.0 (it asks for a value)."""
    asking = [t.text.strip() for t in sentence_spans(question) if t.text.strip().endswith("?")] or [question]
    return float(bool(_AUXILIARY.match(asking[-1])))


def question_form_probe(rows: list[dict[str, Any]], questions: Sequence[tuple[str, bool]]) -> dict[str, Any]:
    """Session 13's probe: the product's features plus the question's form (yes/no or asking for a
    value), alone and with its products with both signals (a threshold per form)."""
    for row, (question, _) in zip(rows, questions, strict=True):
        row["yes_no"] = yes_no(question)
        row["best_x_yes_no"] = row["best_similarity"] * row["yes_no"]
        row["weakest_x_yes_no"] = row["weakest_term_similarity"] * row["yes_no"]
    base = ("best_similarity", "weakest_term_similarity")
    return {
        "yes_no_answerable": sum(r["yes_no"] for r in rows if r["answerable"]),
        "yes_no_unanswerable": sum(r["yes_no"] for r in rows if not r["answerable"]),
        "cross_validated": {
            " + ".join(f): cross_validated(rows, f)
            for f in (base, (*base, "yes_no"), (*base, "yes_no", "best_x_yes_no", "weakest_x_yes_no"))
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="a rag eval data folder (else a fresh build)")
    parser.add_argument("--probes", action="store_true", help="also judge session 12's candidate signals")
    args = parser.parse_args()
    sets = {
        "handbook-qa-dev": (SHARED_DATA / "handbooks", "eval-handbooks", SHARED_DATA / "handbook-qa-dev"),
        "sample golden": (
            ROOT / "ingest" / "sample_handbook",
            "eval-sample",
            ROOT / "ingest" / "sample_handbook_golden" / "golden.jsonl",
        ),
    }
    result: dict[str, Any] = {"seeds": SEEDS, "folds": 5, "max_false_refusal": 0.05, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (corpus, index, questions) in sets.items():
            rows, cost, probed = signals(args.data_dir or Path(tmp), corpus, index, questions, args.probes)
            result["sets"][name] = {
                "answerable": sum(r["answerable"] for r in rows),
                "unanswerable": sum(not r["answerable"] for r in rows),
                "cross_validated": {" + ".join(f): cross_validated(rows, f) for f in FEATURE_SETS},
                "previous_rule": {
                    " + ".join(f): cross_validated(rows, f, previous_threshold) for f in FEATURE_SETS[:2]
                },
                "weakest_term_cost": cost,
            } | (
                {
                    "probes": probed,
                    "question_form": question_form_probe(rows, load_calibration_set(questions).questions),
                }
                if args.probes
                else {}
            )
    write_result("refusal_features", result)


if __name__ == "__main__":
    main()
