"""What ``rag eval`` runs: the version to score (built from the data set when none is named) and the runs to compare.

Guarantees: a data set is built verbatim (no PII redaction) into its own index (``eval-<name>``
unless told otherwise), never into a policy index; building again from unchanged documents with
the same chunker and embedder reuses the live version instead of writing a new one; every run of
a comparison scores the same queries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from indexes.refs import IndexRef, check_index_name
from indexes.versions import ResolvedVersion
from ingest.build import Builder, ProgressFn
from rag.errors import InvalidInput
from rag.evaluation.datasets import EvalDataset
from rag.retrieval import Retriever
from rag.wiring import Services

__all__ = ["Run", "eval_index_name", "parse_setting_changes", "plan_runs", "prepare_version"]

_SETTINGS: dict[str, Callable[[str], Any]] = {
    "mode": str,
    "fusion": str,
    "rrf_k": int,
    "prefetch_limit": int,
    "rerank_candidates": int,
    "weights": lambda v: tuple(float(x) for x in v.split(":")),
}


@dataclass(frozen=True, slots=True)
class Run:
    """One side of a comparison: a version and the retriever settings to search it with."""

    version: ResolvedVersion
    retriever: Retriever


def eval_index_name(dataset: EvalDataset) -> str:
    """``eval-`` plus the data set's folder name in index-name characters."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", dataset.name.lower()).strip("-_") or "set"
    return check_index_name(f"eval-{slug}"[:63])


def _same_content(services: Services, version: ResolvedVersion, dataset: EvalDataset) -> bool:
    m = version.manifest
    if m.embedder != services.embedder.spec or m.chunker != services.builder.chunker.spec:
        return False
    return {d.doc_id: d.content_hash for d in m.documents} == {d.doc_id: d.content_hash for d in dataset.documents}


def prepare_version(
    services: Services, dataset: EvalDataset, index: str, *, progress: ProgressFn | None = None
) -> tuple[ResolvedVersion, bool]:
    """The live version of ``index`` if it holds exactly the data set's documents, else a new build of them.

    Returns the version and whether it was built now.
    """
    check_index_name(index)
    if services.registry.live_version(index) is not None:
        live = services.registry.resolve(IndexRef(index))
        if _same_content(services, live, dataset):
            return live, False
    # Evaluation corpora are built verbatim: redacting PII would move the offsets the answer spans
    # refer to. They are public benchmark data, not company documents.
    b = services.builder
    verbatim = Builder(b.catalog, b.engine, b.registry, b.embedder, b.chunker, access=b.access)
    result = verbatim.build(index, documents=dataset.documents, promote=True, progress=progress)
    return services.registry.resolve(IndexRef(index, result.version)), True


def parse_setting_changes(text: str) -> dict[str, Any]:
    """``mode=dense,fusion=dbsf,weights=1:0.5`` -> retriever settings; ``InvalidInput`` on anything else."""
    changes: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in _SETTINGS:
            raise InvalidInput(f"cannot read {part!r}: expected key=value with a key of {', '.join(sorted(_SETTINGS))}")
        try:
            changes[key] = _SETTINGS[key](value.strip())
        except ValueError as exc:
            raise InvalidInput(f"cannot read {part!r}: {exc}") from exc
    if not changes:
        raise InvalidInput(f"no setting in {text!r}")
    return changes


def plan_runs(services: Services, base: Run, compare: list[str]) -> list[Run]:
    """The base run plus one per ``--compare`` value: a version (``name@N``) or setting changes (``k=v,...``)."""
    runs = [base]
    for value in compare:
        if "=" in value:
            runs.append(Run(base.version, base.retriever.configured(**parse_setting_changes(value))))
        else:
            version = services.registry.resolve(IndexRef.parse(value))
            runs.append(Run(version, base.retriever))
    return runs
