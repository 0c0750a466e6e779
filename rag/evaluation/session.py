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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexes.manifest import Manifest
from indexes.refs import IndexRef, check_index_name
from indexes.versions import ResolvedVersion
from ingest.build import Builder, ProgressFn
from ingest.loaders import LoadError, load_document
from ingest.sources import discover
from rag.errors import InvalidInput
from rag.evaluation.datasets import EvalDataset
from rag.retrieval import Retriever

if TYPE_CHECKING:
    from rag.wiring import Services

__all__ = ["Run", "eval_index_name", "parse_setting_changes", "plan_runs", "prepare_corpus_version", "prepare_version"]


def _flag(value: str) -> bool:
    """``true``/``false`` (also ``on``/``off``, ``1``/``0``) -> bool; ``ValueError`` on anything else."""
    lowered = value.lower()
    if lowered in ("true", "on", "1"):
        return True
    if lowered in ("false", "off", "0"):
        return False
    raise ValueError(f"{value!r} is not true or false")


_SETTINGS: dict[str, Callable[[str], Any]] = {
    "mode": str,
    "fusion": str,
    "rrf_k": int,
    "prefetch_limit": int,
    "rerank_candidates": int,
    "sentence_candidates": int,
    "weights": lambda v: tuple(float(x) for x in v.split(":")),
    "scope_questions": _flag,
    "collapse_duplicates": _flag,
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


def _calibrated_on(manifest: Manifest, calibration: Path | None) -> bool:
    """Whether ``manifest``'s refusal calibration was fitted on the ``calibration`` questions (or
    none are given): a reused build must not keep a calibration made on other questions."""
    if calibration is None:
        return True
    from rag.calibration import load_calibration_set

    fitted = (manifest.refusal or {}).get("fitted_on", {}) or manifest.evaluation.get("calibration", {})
    return bool(fitted) and fitted.get("sha256") == load_calibration_set(calibration).sha256


def prepare_corpus_version(
    services: Services,
    corpus: Path,
    index: str,
    *,
    calibration: Path | None = None,
    progress: ProgressFn | None = None,
) -> tuple[ResolvedVersion, bool]:
    """The live version of ``index`` if it holds ``corpus`` as a build would store it now, else a new build.

    The folder goes through the product's own pipeline (loaders, normalizing, access groups, PII
    redaction as configured for ``index``, with the contact points the whole corpus publishes), so
    the figures describe what employees would get. ``calibration``: the questions the index's
    refusals are calibrated on; a live version calibrated on other questions is not reused.
    Returns the version and whether it was built now.
    """
    check_index_name(index)
    files, skipped = discover(corpus)
    live = services.registry.live_version(index)
    if live is not None:
        version = services.registry.resolve(IndexRef(index))
        m = version.manifest
        if m.embedder == services.embedder.spec and m.chunker == services.builder.chunker.spec:
            stored = {d.doc_id: d.content_hash for d in m.documents}
            loaded = []
            for f in files:
                try:
                    loaded.append(load_document(f.path, f.name))
                except LoadError:
                    continue
            redactor = services.builder.corpus_redactor(index, loaded)
            current: dict[str, str] = {}
            for raw in loaded:
                try:
                    doc = services.builder.prepare(index, raw, redactor=redactor)
                except LoadError:
                    continue
                current[doc.doc_id] = doc.content_hash
            if current == stored and _calibrated_on(m, calibration):
                return version, False
    result = services.builder.build(index, files=files, skipped=skipped, promote=True, progress=progress)
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
