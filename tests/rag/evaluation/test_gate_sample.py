"""The gate on the real sample handbook (MiniLM + BM25 in Qdrant Edge): three versions in all.

v1 is the sample, promoted (a copy of the session's ``built_sample``: not built again here), scored
on the whole golden set. v2 drops half of the documents and must be held back on recall@5; v3
rebuilds the unchanged sample and must pass. The gate runs of v2 and v3 score every third golden
question only: each run scores two versions, and one query embedding costs up to 0.5 s on a loaded
2-core machine.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from indexes.manifest import Manifest
from indexes.refs import IndexRef
from indexes.versions import ResolvedVersion
from ingest.embedding import Embedder
from rag.evaluation.gate import GateScores, evaluate_version, gate_evaluation
from rag.evaluation.golden import GoldenSet, load_golden_set
from rag.wiring import Services, build_services
from tests.conftest import GOLDEN_DIR, SAMPLE_DIR, make_settings

TOLERANCE = 0.02


@pytest.fixture(scope="module")
def services(built_sample: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Services]:
    """Services over a private copy of the built sample (``policies`` v1, promoted)."""
    target = tmp_path_factory.mktemp("gate") / "data"
    shutil.copytree(built_sample, target)
    built = build_services(make_settings(target), embedder=embedder)
    yield built
    built.close()
    shutil.rmtree(target, ignore_errors=True)


@pytest.fixture(scope="module")
def golden() -> GoldenSet:
    return load_golden_set(GOLDEN_DIR / "golden.jsonl")


@pytest.fixture(scope="module")
def golden_subset(golden: GoldenSet, tmp_path_factory: pytest.TempPathFactory) -> GoldenSet:
    """Every third question of the sample golden set, as a golden set file of its own."""
    path = tmp_path_factory.mktemp("golden") / "golden-subset.jsonl"
    path.write_text("".join(q.model_dump_json(exclude_none=True) + "\n" for q in golden.questions[::3]))
    return load_golden_set(path)


@pytest.fixture(scope="module")
def live(services: Services) -> ResolvedVersion:
    """The sample handbook built as ``policies`` v1 and promoted (the session's build of it)."""
    resolved = services.registry.resolve(IndexRef("policies"))
    assert resolved.version == 1
    return resolved


def gate(services: Services, golden: GoldenSet, seen: list[dict[str, Any]]) -> Callable[[Manifest], Manifest]:
    def finalize(manifest: Manifest) -> Manifest:
        evaluation = gate_evaluation(
            services.assistant.retriever, services.registry, "policies", manifest, golden, TOLERANCE
        )
        seen.append(evaluation)
        return manifest.model_copy(update={"evaluation": evaluation})

    return finalize


def test_sample_scores_are_high_and_reproducible(services: Services, live: ResolvedVersion, golden: GoldenSet) -> None:
    first = evaluate_version(services.assistant.retriever, live, golden)
    second = evaluate_version(services.assistant.retriever, live, golden)
    assert first == second
    assert first.questions == 86
    assert first.recall >= 0.9
    assert first.mrr >= 0.8
    assert first.missing_documents == []
    assert GateScores.model_validate_json(first.model_dump_json()) == first


def test_gate_holds_back_a_version_missing_half_the_documents(
    services: Services, live: ResolvedVersion, golden_subset: GoldenSet, tmp_path: Path
) -> None:
    source = tmp_path / "half"
    shutil.copytree(SAMPLE_DIR, source)
    files = sorted(p for p in source.rglob("*") if p.is_file())
    for path in files[::2]:
        path.unlink()
    seen: list[dict[str, Any]] = []
    result = services.builder.build("policies", source, finalize=gate(services, golden_subset, seen))

    (evaluation,) = seen
    assert evaluation["passed"] is False
    assert evaluation["live"]["version"] == live.version
    assert evaluation["new"]["version"] == result.version != live.version
    assert evaluation["new"]["recall"] < evaluation["live"]["recall"] - TOLERANCE
    assert any(r.startswith("recall@5 ") and "> tolerance 0.02" in r for r in evaluation["reasons"])
    assert evaluation["golden"]["path"] == "golden-subset.jsonl"
    assert evaluation["golden"]["questions"] == len(golden_subset) == 29
    removed = {p.relative_to(source).as_posix() for p in files[::2]}
    assert evaluation["new"]["missing_documents"]
    assert set(evaluation["new"]["missing_documents"]) <= removed
    # The evaluation is stored with the version, as JSON, and nothing moved the alias.
    stored = services.catalog.get_version("policies", result.version)
    assert stored is not None and stored.manifest is not None
    assert json.loads(json.dumps(stored.manifest.evaluation)) == evaluation
    assert services.registry.live_version("policies") == live.version


def test_gate_passes_a_rebuild_of_the_unchanged_source(
    services: Services, live: ResolvedVersion, golden_subset: GoldenSet
) -> None:
    seen: list[dict[str, Any]] = []
    services.builder.build("policies", SAMPLE_DIR, finalize=gate(services, golden_subset, seen))

    (evaluation,) = seen
    assert evaluation["passed"] is True, evaluation["reasons"]
    assert evaluation["new"]["missing_documents"] == []
    new, old = evaluation["new"], evaluation["live"]
    assert (new["recall"], new["mrr"]) == (old["recall"], old["mrr"])
    assert [r.endswith(", no drop") for r in evaluation["reasons"]] == [True, True]
