"""Can a small reader trained here tell near-topic unanswerable questions from answerable ones?

Issue 11 suggests, if simple refusal signals fall short, fine-tuning a small model on CPU from the
packaged MiniLM weights for one inner task. This benchmark tries that for answerability, as a
cross-encoder over (question, passage) trained without any evaluation question:

- ``faq``: the index's own documents. Every section whose heading is a question ("Can I book outside
  of Concur?") gives a positive pair (the heading, the first three sentences under it) and three
  negatives: two passages of other sections of the same document (same subject, other fact) and the
  nearest passage of another document (by the chunks' stored vectors).
- ``sample``: the project's own golden set over the sample handbook (ingest/sample_handbook_golden):
  each answerable question with the sentence that best holds its evidence (positive) and three
  nearby sentences that do not (negatives); each unanswerable question with its four nearest
  sentences (negatives).

A fifth of the training questions (with their pairs) is held out; the reader's ROC AUC on their
pairs says how well it learnt its own task. The reader then scores every three-sentence window of
the top 5 chunks retrieved for each question of the dev set; its best window is the signal
(``reader``). A cheaper signal of the same idea is
reported beside it: the best cosine of the question to the nearest heading of the top 5 chunks
(``heading``; does the page have a section on the asked fact?). Reported: each signal's ROC AUC on
the dev set beside the product's signals, and refusals at <= 5% false refusals, 5-fold
cross-validated over 5 seeds, for the product's model alone and with each new signal added. Data
come from ../shared/data (or RAG_SHARED_DATA) at run time; the build is the one ``rag eval`` makes
(``--data-dir`` reuses it).

    python bench/answerability_reader.py --data-dir <a rag eval data folder> --train faq
    python bench/answerability_reader.py --data-dir <same> --train faq+sample

Takes 5-15 minutes on 2 cores (training dominates).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, SHARED_DATA, write_result
from bench.refusal_features import cross_validated
from indexes.types import SearchHit
from ingest.embedding import PACKAGED_EMBEDDER, resolve_model_path
from ingest.loaders import load_document
from rag.evaluation.session import prepare_corpus_version
from rag.refusal import FEATURES
from rag.sentences import split_sentences
from rag.settings import Settings
from rag.wiring import build_services

Pair = tuple[str, str, float]
GOLDEN = ROOT / "ingest" / "sample_handbook_golden"
WINDOW = 3
MAX_TOKENS = 160


def _question(heading: str) -> str:
    text = re.sub(r"\*\*|__", "", heading).strip()
    return re.sub(r"^(Q|Question)\s*[:.]\s*", "", text, flags=re.IGNORECASE)


def _windows(text: str) -> list[str]:
    sents = split_sentences(text)
    return [" ".join(sents[i : i + WINDOW]) for i in range(max(1, len(sents) - WINDOW + 1))] if sents else []


def _prose(text: str) -> bool:
    return len(re.findall(r"[A-Za-z]{3,}", text)) >= 6 and "<iframe" not in text


def faq_pairs(points: list[Any], rng: random.Random) -> list[Pair]:
    """Pairs from the sections of the index whose heading is a question (see the module's docstring)."""
    vectors = np.asarray([p.dense for p in points], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    by_doc: dict[str, list[int]] = {}
    sections: dict[tuple[str, str], int] = {}
    for i, p in enumerate(points):
        by_doc.setdefault(p.chunk.doc_id, []).append(i)
        path = p.chunk.heading_path
        if path and _question(path[-1]).endswith("?"):
            sections.setdefault((p.chunk.doc_id, path[-1]), i)
    pairs: list[Pair] = []
    for (doc, heading), first in sections.items():
        windows = _windows(points[first].chunk.text)
        if not windows or not _prose(windows[0]):
            continue
        q = _question(heading)
        pairs.append((q, windows[0], 1.0))
        others = [i for i in by_doc[doc] if list(points[i].chunk.heading_path[-1:]) != [heading]]
        others = [i for i in others if _prose(points[i].chunk.text)]
        for i in rng.sample(others, min(2, len(others))):
            pairs.append((q, rng.choice(_windows(points[i].chunk.text) or [points[i].chunk.text]), 0.0))
        for j in np.argsort(-(vectors @ vectors[first]))[:40]:
            c = points[int(j)].chunk
            if c.doc_id != doc and _prose(c.text):
                pairs.append((q, rng.choice(_windows(c.text) or [c.text]), 0.0))
                break
    return pairs


def near_topic_pairs(pairs: list[Pair], rng: random.Random) -> list[Pair]:
    """Near-topic negatives made from the positives: one word of the question that its passage holds is
    replaced by a word of another training question that the passage does not hold, so the subject
    still matches and the asked thing is absent ("When can I enroll in the 401k?" -> "... in the
    sabbatical?")."""
    from rag.term_match import content_words

    positives = [(q, w) for q, w, label in pairs if label == 1.0]
    vocabulary = sorted({x for q, _ in positives for x in content_words(q) if len(x) > 3 and x.isalpha()})
    out: list[Pair] = []
    for q, window in positives:
        held = set(content_words(window))
        swappable = [x for x in content_words(q) if x in held and len(x) > 3 and x.isalpha()]
        if not swappable:
            continue
        old = rng.choice(swappable)
        new = rng.choice([x for x in vocabulary if x not in held])
        out.append((re.sub(rf"\b{re.escape(old)}\b", new, q, count=1, flags=re.IGNORECASE), window, 0.0))
    return out


def sample_pairs(encode: Any) -> list[Pair]:
    """Pairs from the sample handbook's golden set (see the module's docstring)."""
    root = ROOT / "ingest" / "sample_handbook"
    sents = []
    for f in sorted(x for x in root.rglob("*") if x.is_file()):
        sents += [s for s in split_sentences(load_document(f, str(f.relative_to(root))).text) if len(s) > 20]
    emb = encode(sents)
    words = [set(re.findall(r"\w+", s.lower())) for s in sents]
    pairs: list[Pair] = []
    for line in (GOLDEN / "golden.jsonl").read_text().splitlines():
        q = json.loads(line)
        ev = set(re.findall(r"\w+", q["evidence"].lower()))
        overlap = [len(ev & w) / max(len(ev), 1) for w in words]
        best = int(np.argmax(overlap))
        if overlap[best] >= 0.6:
            pairs.append((q["question"], sents[best], 1.0))
        near = [int(i) for i in np.argsort(-(emb @ encode([q["question"]])[0]))[:12] if overlap[int(i)] < 0.6]
        pairs += [(q["question"], sents[i], 0.0) for i in near[:3]]
    for line in (GOLDEN / "unanswerable.jsonl").read_text().splitlines():
        q = json.loads(line)
        pairs += [(q["question"], sents[int(i)], 0.0) for i in np.argsort(-(emb @ encode([q["question"]])[0]))[:4]]
    return pairs


def _unit(encode: Any) -> Any:
    def run(texts: list[str]) -> Any:
        m = np.asarray(encode(texts), dtype=np.float32)
        return m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-9)

    return run


class Reader:
    """A MiniLM cross-encoder (the packaged weights plus a fresh one-logit head) trained with BCE."""

    def __init__(self, seed: int) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        torch.manual_seed(seed)
        path = resolve_model_path(PACKAGED_EMBEDDER)
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)

    def _batch(self, qs: list[str], ps: list[str]) -> Any:
        return self.tok(qs, ps, truncation=True, max_length=MAX_TOKENS, padding=True, return_tensors="pt")

    def train(self, pairs: list[Pair], epochs: int, lr: float, rng: random.Random, batch: int = 16) -> None:
        torch = self.torch
        opt = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=0.01)
        steps = epochs * ((len(pairs) + batch - 1) // batch)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps)
        )
        loss_fn = torch.nn.BCEWithLogitsLoss()
        self.model.train()
        data = list(pairs)
        for _ in range(epochs):
            rng.shuffle(data)
            for b in range(0, len(data), batch):
                part = data[b : b + batch]
                logits = self.model(**self._batch([p[0] for p in part], [p[1] for p in part])).logits.squeeze(-1)
                loss = loss_fn(logits, torch.tensor([p[2] for p in part]))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
        self.model.eval()

    def scores(self, question: str, passages: list[str]) -> list[float]:
        out: list[float] = []
        with self.torch.no_grad():
            for b in range(0, len(passages), 64):
                part = passages[b : b + 64]
                out += self.model(**self._batch([question] * len(part), part)).logits.squeeze(-1).tolist()
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="a rag eval data folder (else a fresh build)")
    parser.add_argument("--questions", type=Path, default=SHARED_DATA / "handbook-qa-dev")
    parser.add_argument("--corpus", type=Path, default=SHARED_DATA / "handbooks")
    parser.add_argument("--train", choices=["faq", "sample", "faq+sample"], default="faq")
    parser.add_argument("--near-topic", action="store_true", help="add near-topic negatives (near_topic_pairs)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from sklearn.metrics import roc_auc_score

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data_dir or Path(tmp)
        s = build_services(Settings(_env_file=None, data_dir=data, worker_enabled=False))
        try:
            version, _ = prepare_corpus_version(s, args.corpus, "eval-" + args.corpus.name)
            points = list(s.engine.iter_points(version.index, version.version))
            pairs: list[Pair] = []
            if "faq" in args.train:
                pairs += faq_pairs(points, rng)
            if "sample" in args.train:
                pairs += sample_pairs(_unit(s.embedder.encode_documents))
            if args.near_topic:
                pairs += near_topic_pairs(pairs, rng)
            questions = sorted({p[0] for p in pairs})
            held = set(rng.sample(questions, len(questions) // 5))
            t0 = time.perf_counter()
            reader = Reader(args.seed)
            reader.train([p for p in pairs if p[0] not in held], args.epochs, args.lr, rng)
            train_s = time.perf_counter() - t0
            held_pairs = [p for p in pairs if p[0] in held]
            held_auc = roc_auc_score([p[2] for p in held_pairs], [reader.scores(p[0], [p[1]])[0] for p in held_pairs])
            rows = []
            unit = _unit(s.embedder.encode_documents)
            for line in (args.questions / "questions.jsonl").read_text().splitlines():
                q = json.loads(line)
                hits: list[SearchHit] = s.assistant.retriever.search(version, q["question"], 5)
                windows = [w for h in hits for w in _windows(h.chunk.text)]
                best = max(reader.scores(q["question"], windows)) if windows else -10.0
                heads = [h.chunk.heading_path[-1] if h.chunk.heading_path else h.chunk.title or "" for h in hits]
                heading = float((unit(heads) @ unit([q["question"]])[0]).max()) if hits else 0.0
                rows.append(
                    {
                        "id": q["id"],
                        "answerable": bool(q["answerable"]),
                        "reader": best,
                        "heading": heading,
                        **s.assistant.refusal_signals(version, q["question"]),
                    }
                )
        finally:
            s.close()
    y = [r["answerable"] for r in rows]
    auc = {f: round(float(roc_auc_score(y, [r[f] for r in rows])), 3) for f in ("reader", "heading", *FEATURES)}
    result = {
        "train": args.train,
        "pairs": len(pairs),
        "positives": int(sum(p[2] for p in pairs)),
        "epochs": args.epochs,
        "lr": args.lr,
        "seed": args.seed,
        "train_seconds": round(train_s),
        "held_out_questions": len(held),
        "held_out_auc": round(float(held_auc), 3),
        "auc": auc,
        "cross_validated": {
            " + ".join(f): cross_validated(rows, tuple(f), seeds=5)
            for f in (FEATURES, ("reader",), (*FEATURES, "reader"), (*FEATURES, "heading"))
        },
    }
    name = args.train.replace("+", "_") + ("_near_topic" if args.near_topic else "")
    result["near_topic"] = args.near_topic
    write_result(f"answerability_reader_{name}", result)


if __name__ == "__main__":
    main()
