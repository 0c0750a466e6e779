"""Index references, the catalog and the version registry (promote, rollback, resolve)."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexes.catalog import Catalog, VersionState
from indexes.refs import IndexRef
from rag.errors import Conflict, IndexNotFound, InvalidInput, VersionNotFound
from tests.conftest import SAMPLE_DIR, ServicesFactory


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("policies", IndexRef("policies")),
        ("policies@3", IndexRef("policies", 3)),
        ("hr-docs@v12", IndexRef("hr-docs", 12)),
    ],
)
def test_parse_refs(text: str, expected: IndexRef) -> None:
    assert IndexRef.parse(text) == expected


@pytest.mark.parametrize("text", ["", "Policies", "policies@", "policies@0", "a b", "policies@-1", "x" * 64])
def test_bad_refs(text: str) -> None:
    with pytest.raises(InvalidInput):
        IndexRef.parse(text)


def test_version_numbers_are_never_reused() -> None:
    catalog = Catalog.from_url("sqlite://")
    assert [catalog.allocate_version("p") for _ in range(3)] == [1, 2, 3]
    catalog.mark_failed("p", 3, "boom")
    assert catalog.allocate_version("p") == 4
    assert catalog.allocate_version("q") == 1
    assert [v.version for v in catalog.list_versions("p")] == [4, 3, 2, 1]
    assert catalog.get_version("p", 3).state == VersionState.FAILED  # type: ignore[union-attr]


def test_rollback_walks_back_through_promotions(sample_copy: Path, services_factory: ServicesFactory) -> None:
    s = services_factory(sample_copy)  # v1: the sample, built and promoted
    for _ in range(2):
        s.builder.build("policies", SAMPLE_DIR / "people", promote=True)  # v2, v3 (reusing v1's vectors)
    assert s.registry.live_version("policies") == 3
    assert s.registry.rollback("policies") == (3, 2)
    assert s.registry.rollback("policies") == (2, 1)
    with pytest.raises(Conflict):
        s.registry.rollback("policies")
    s.registry.promote("policies", 3)
    assert s.registry.rollback("policies") == (3, 1)
    history = [(e.action, e.version) for e in s.catalog.alias_history("policies")]
    assert history[-2:] == [("promote", 3), ("rollback", 1)]


def test_resolve(services_factory: ServicesFactory) -> None:
    s = services_factory()
    with pytest.raises(IndexNotFound):
        s.registry.resolve(IndexRef("policies"))
    s.builder.build("policies", SAMPLE_DIR / "people")
    with pytest.raises(VersionNotFound, match="no promoted version"):
        s.registry.resolve(IndexRef("policies"))
    pinned = s.registry.resolve(IndexRef("policies", 1))
    assert (pinned.alias, pinned.version) == (None, 1)
    s.registry.promote("policies", 1)
    live = s.registry.resolve(IndexRef("policies"))
    assert (live.alias, live.version, live.manifest.version) == ("policies", 1, 1)
    with pytest.raises(VersionNotFound):
        s.registry.resolve(IndexRef("policies", 2))


def test_a_shard_held_by_another_process_is_a_clear_error(sample_copy: Path, services_factory: ServicesFactory) -> None:
    import subprocess
    import sys

    from indexes.edge_engine import EdgeEngine
    from indexes.errors import ShardBusy

    s = services_factory(sample_copy)  # v1: the sample, built and promoted
    s.engine.close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, qdrant_edge; s = qdrant_edge.EdgeShard.load(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(s.engine.version_path("policies", 1)),  # type: ignore[attr-defined]
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        engine = EdgeEngine(s.settings.shards_dir, s.engine._aliases)  # type: ignore[attr-defined]
        with pytest.raises(ShardBusy, match="open in another process"):
            engine.count("policies", 1)
    finally:
        holder.communicate("", timeout=30)
