"""The composition root: builds every client and component once from settings and hands them out."""

from __future__ import annotations

from dataclasses import dataclass, field

from indexes.catalog import Catalog, CatalogAliasStore
from indexes.engine import VectorEngine
from indexes.versions import VersionRegistry
from ingest.build import Builder
from ingest.chunking import Chunker
from ingest.embedding import Embedder, EmbedderPool
from prompts import load_prompt
from rag.answer_log import AnswerLog
from rag.answering.base import Answerer
from rag.answering.extractive import ExtractiveAnswerer
from rag.assistant import Assistant
from rag.retrieval import Retriever
from rag.settings import Settings

__all__ = ["Services", "build_answerer", "build_engine", "build_services"]


@dataclass
class Services:
    """Everything the API and the CLI use, built once and closed once."""

    settings: Settings
    catalog: Catalog
    engine: VectorEngine
    registry: VersionRegistry
    embedders: EmbedderPool
    embedder: Embedder
    builder: Builder
    assistant: Assistant
    answers: AnswerLog
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Release the engine's files and the database pool (idempotent)."""
        if not self._closed:
            self._closed = True
            self.engine.close()
            self.catalog.close()


def build_engine(settings: Settings, catalog: Catalog) -> VectorEngine:
    """Qdrant server when ``qdrant_url`` is set, else the embedded Qdrant Edge engine."""
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        from indexes.server_engine import QdrantServerEngine

        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return QdrantServerEngine(QdrantClient(url=settings.qdrant_url, api_key=key))
    from indexes.edge_engine import EdgeEngine

    settings.shards_dir.mkdir(parents=True, exist_ok=True)
    return EdgeEngine(settings.shards_dir, CatalogAliasStore(catalog))


def build_answerer(settings: Settings) -> Answerer:
    """The OpenAI-protocol answerer when a model is configured, else the extractive one."""
    if settings.llm_model:
        import openai

        from rag.answering.openai_answerer import OpenAIAnswerer

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        client = openai.OpenAI(
            base_url=settings.llm_base_url,
            api_key=key,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )
        return OpenAIAnswerer(client, settings.llm_model)
    return ExtractiveAnswerer()


def build_services(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    answerer: Answerer | None = None,
    engine: VectorEngine | None = None,
) -> Services:
    """Wire every component from ``settings``; the keyword arguments are test seams."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.from_url(settings.metadata_url)
    engine = engine or build_engine(settings, catalog)
    registry = VersionRegistry(catalog, engine)
    embedders = EmbedderPool(settings.embedding_device, settings.embedding_batch_size)
    if embedder is None:
        embedder = embedders.get(settings.embedding_model)
    else:
        embedders.add(embedder)
    chunker = Chunker(
        embedder.count_tokens,
        max_tokens=min(settings.chunk_max_tokens or embedder.max_content_tokens, embedder.max_content_tokens),
        overlap_tokens=settings.chunk_overlap_tokens,
        embed_headings=settings.chunk_embed_headings,
    )
    builder = Builder(catalog, engine, registry, embedder, chunker)
    retriever = Retriever(
        engine,
        embedders,
        mode=settings.retrieval_mode,
        prefetch_limit=settings.prefetch_limit,
        rrf_k=settings.rrf_k,
    )
    answers = AnswerLog(catalog.engine)
    assistant = Assistant(
        registry,
        retriever,
        answerer or build_answerer(settings),
        load_prompt(settings.prompt),
        answers,
        default_index=settings.default_index,
        top_k=settings.top_k,
        refusal_threshold=settings.refusal_threshold,
        max_question_chars=settings.max_question_chars,
    )
    return Services(
        settings=settings,
        catalog=catalog,
        engine=engine,
        registry=registry,
        embedders=embedders,
        embedder=embedder,
        builder=builder,
        assistant=assistant,
        answers=answers,
    )
