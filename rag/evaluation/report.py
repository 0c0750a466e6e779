"""Evaluation results as a Markdown table: one column per run, a delta column against the first."""

from __future__ import annotations

from collections.abc import Sequence

from rag.evaluation.runner import EvalResult

__all__ = ["markdown_table"]

_ROWS = ("recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10")


def _fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


def markdown_table(results: Sequence[EvalResult]) -> str:
    """A GitHub Markdown table of the runs' metrics, refusal rate and latency (deltas when two or more runs)."""
    if not results:
        raise ValueError("no results to tabulate")
    first = results[0]
    compare = len(results) > 1
    header = ["metric", *(f"`{r.label}`" for r in results)]
    if compare:
        header += [f"delta ({i + 1} - 1)" for i in range(1, len(results))]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]

    def row(name: str, values: list[float], digits: int = 3, signed: bool = True) -> None:
        cells = [name, *(_fmt(v, digits) for v in values)]
        if compare:
            cells += [(f"{v - values[0]:+.{digits}f}" if signed else "") for v in values[1:]]
        lines.append("| " + " | ".join(cells) + " |")

    for metric in _ROWS:
        row(metric, [r.metrics[metric] for r in results])
    row("refusal rate", [r.refusal_rate for r in results])
    row("latency p50 (ms)", [r.latency_ms["p50"] for r in results], 1)
    row("latency p95 (ms)", [r.latency_ms["p95"] for r in results], 1)
    d = first.dataset
    notes = [
        f"Data: `{d['name']}` ({d['layout']}, {d['queries']} judged queries, sha256 {d['sha256'][:12]}).",
    ]
    for i, r in enumerate(results, start=1):
        v, s = r.version, r.retrieval
        chunker = v["chunker"]
        fusion = ""
        if s["fusion"]:
            fusion = f", fusion {s['fusion']}" + (f" weights {s['weights']}" if s.get("weights") else "")
        notes.append(
            f"Run {i}: {v['index']} v{v['version']}, {v['chunks']} chunks of {v['documents']} documents, "
            f"{v['embedder']}, chunks of <= {chunker['max_tokens']} tokens (overlap {chunker['overlap_tokens']}, "
            f"headings {'embedded' if chunker['embed_headings'] else 'not embedded'}); mode {s['mode']}"
            + fusion
            + (f", reranker {s['reranker']}" if s.get("reranker") else "")
            + "."
        )
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"
