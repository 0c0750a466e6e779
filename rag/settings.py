"""Service settings, read once at start-up from environment variables prefixed ``RAG_``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.embedding import PACKAGED_EMBEDDER

__all__ = ["PACKAGED_EMBEDDER", "ModelEndpoint", "Settings"]


class ModelEndpoint(BaseModel):
    """An OpenAI-protocol endpoint a release names (``RAG_MODELS``); its key is a secret, never stored in a release."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(min_length=1)
    api_key: SecretStr | None = None


class Settings(BaseSettings):
    """Every setting, its default and its environment variable (``RAG_`` + the upper-cased name).

    Paths are resolved against the working directory at start-up. Invalid combinations fail at
    construction, before any client or model is built.
    """

    # hide_input_in_errors: a bad RAG_MODELS (or any nested setting) must not echo the keys it holds
    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    data_dir: Path = Field(Path("var/rag"), description="Where the SQLite metadata and Edge shards live.")
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL for metadata (may hold a password); default: SQLite file in data_dir."
    )
    qdrant_url: str | None = Field(None, description="Qdrant server URL; unset means the embedded Qdrant Edge engine.")
    qdrant_api_key: SecretStr | None = Field(None, description="API key for the Qdrant server.")
    vector_quantization: Literal["none", "int8"] = Field(
        "none",
        description="Dense vectors of versions built from now on: `int8` keeps a scalar int8 copy in RAM that "
        "searches scan, and rescores the best candidates with the full vectors (docs/operations.md, how cost "
        "grows). A version keeps what it was built with.",
    )
    vectors_on_disk: bool = Field(
        False,
        description="Full dense vectors of versions built from now on stay on disk, read on demand, instead of "
        "being cached in memory (with `int8`, only rescoring reads them). A version keeps what it was built with.",
    )

    embedding_model: str = Field(
        PACKAGED_EMBEDDER,
        description="sentence-transformers model name or local path used for new builds.",
    )
    embedding_device: str = Field("cpu", description="torch device for the embedder.")
    embedding_batch_size: int = Field(64, ge=1, le=4096, description="Chunks embedded per batch.")
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx-int8",
        description="How the embedder runs new builds: `onnx-int8` (ONNX Runtime with int8 weights, exported from "
        "the packaged weights at install or first use; 1.8x build throughput and a quarter of torch's question p95 "
        "at equal retrieval quality, docs/benchmarks.md), `onnx` (the same export in fp32) or `torch`. Part of the "
        "embedder id: a version is always queried with the backend that built it, and the first build after a "
        "change is a full one.",
    )
    embedding_cache_dir: Path | None = Field(
        None,
        description="Where the ONNX backends keep their exported models (one file per weights digest, safe to share "
        "between data folders and processes). Unset: `$XDG_CACHE_HOME/policy-assistant/onnx` (`~/.cache/...`).",
    )
    embedding_batching: bool = Field(
        True,
        description="One model worker per embedder merges concurrent questions' texts into micro-batches "
        "(off: every request thread runs the model itself).",
    )
    embedding_threads: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Threads one model call uses (torch intra-op, ONNX Runtime). Unset: 1 in `rag serve` (model "
        "calls of concurrent questions on 2 busy cores stalled on their threads' barriers; docs/benchmarks.md, "
        "answers per core), all cores in every other command (`rag ingest` builds faster).",
    )

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
    extractive_semantic: bool = Field(
        True,
        description="The extractive answerer also ranks its best sentences by embedding similarity to the "
        "question (much better sentence choice; embeds up to extractive_semantic_sentences sentence pairs per "
        "answer, cached).",
    )
    extractive_semantic_sentences: int = Field(
        48,
        ge=1,
        le=500,
        description="How many of the evidence's sentences (the best by question words) the extractive answerer "
        "judges by meaning; 48 covers every sentence of 5 typical chunks. Lower: fewer sentences embedded "
        "when a passage is first seen, a worse choice of the answering sentence.",
    )
    scope_questions: bool = Field(
        True,
        description="A question naming one top-level folder of a version by the words its build learnt for "
        "it (e.g. an organisation's name) is answered from that folder only.",
    )
    collapse_duplicates: bool = Field(
        True,
        description="A retrieved chunk whose text repeats a better-ranked one (the same passage published in "
        "two documents) is left out and the next chunk takes its place.",
    )
    sentence_candidates: int = Field(
        15,
        ge=0,
        le=100,
        description="Without a reranker, this many fused chunks are reordered by their best sentence's "
        "similarity to the question (sentences embedded at question time, cached); 0 turns it off.",
    )
    sentence_prior: float = Field(
        1.0,
        ge=0.0,
        le=10.0,
        description="Weight of the fused rank in that order: a chunk gains sentence_prior / (1 + its rank).",
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
    calibration_sets: dict[str, Path] = Field(
        default_factory=dict,
        description="Golden questions, answerable and not, per index (JSON, e.g. "
        '{"policies": "golden/questions.jsonl"}): each new version of the index fits its refusal decision on them '
        "and records it in its manifest. The default index also uses `golden_set` with an "
        "`unanswerable.jsonl` beside it.",
    )
    max_false_refusal: float = Field(
        0.05,
        ge=0.0,
        le=0.5,
        description="Calibration: the most a version may refuse of new answerable questions like its golden "
        "ones (an expected share, split-conformal; fewer of the golden questions themselves are refused).",
    )
    refusal_weakest_term: bool = Field(
        True,
        description="Calibration fits the best similarity with the weakest term similarity (each question "
        "word's best match among the evidence's words, by the embedder: more unanswerable questions refused). "
        "false: with sentence coverage, as before session 11, which needs no model call at question time "
        "(the words of a passage seen for the first time cost about 100 ms p50 and 270 ms p95 on 2 cores "
        "until cached). Read when a version is built; a version keeps the features it was fitted on.",
    )
    gate_tolerance: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="Promotion gate: the most recall@5 or MRR@10 on the golden set may drop below the "
        "live version's before a new version is held back.",
    )
    gate_answer_diff: bool = Field(
        True,
        description="Promotion gate: also answer the golden set (and an `unanswerable.jsonl` beside it) on the "
        "live version and the candidate, keep the per-question answer diff and mark stale golden questions.",
    )
    gate_max_lost_source: int | None = Field(
        None,
        ge=0,
        description="Promotion gate: the most golden questions (a count) whose answer may lose its expected source "
        "(the live answer cited an expected document, the candidate's cites none); unset: reported only.",
    )
    gate_max_newly_refused: int | None = Field(
        None,
        ge=0,
        description="Promotion gate: the most golden questions (a count) the candidate may newly refuse; "
        "unset: reported only.",
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
    models: dict[str, ModelEndpoint] = Field(
        default_factory=dict,
        description='Model endpoints releases name (JSON, e.g. {"gpt": {"base_url": "https://api.openai.com/v1", '
        '"api_key": "sk-..."}, "local": {"base_url": "http://127.0.0.1:11434/v1"}}); `default` names '
        "RAG_LLM_BASE_URL. A release stores only the name: keys are never stored, logged or shown.",
    )

    prompt: str = Field(
        "answer/v2", description="Versioned answer prompt template in prompts/ (v2 marks document text as data)."
    )
    unsupported_answers: Literal["flag", "refuse"] = Field(
        "flag",
        description="A model answer with a sentence its cited sources do not support: `flag` (returned with "
        "`grounded: false` and the sentence marked) or `refuse` (withheld; streamed text is held until checked).",
    )
    grounding_min_overlap: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Answer check: the least share of a sentence's content words its cited sources must hold "
        "(tuned on planted answers: bench/grounding_planted.py).",
    )
    condense_prompt: str = Field(
        "condense/v1", description="Versioned prompt that makes a follow-up question standalone (with a model)."
    )
    max_conversation_chars: int = Field(
        12000, ge=1, description="Most characters of all messages of a conversation (more: HTTP 422)."
    )
    max_conversation_messages: int = Field(
        40, ge=1, description="Most messages in a conversation (more: HTTP 422 `conversation_too_long`)."
    )
    default_index: str = Field("policies", description="The index a question without `index` asks.")
    max_question_chars: int = Field(2000, ge=1, description="Longest question accepted (longer: HTTP 422).")
    retain_versions: int = Field(
        5, ge=1, description="Retention: keep this many newest ready versions (plus the live and canary ones)."
    )
    retain_live_days: int = Field(
        0,
        ge=0,
        le=36500,
        description="Retention also keeps every version that was live within this many days, so as-of questions "
        "about that window always work; 0: only retain_versions counts.",
    )
    min_free_mb: int = Field(
        256,
        ge=0,
        description="Free space (MB) the data folder's volume must keep: below it, opening or writing an index "
        "version answers 507 and /readyz fails (an Edge shard maps ~35-100 MB when opened); 0 turns the check off.",
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
        120.0,
        gt=0,
        description="A running job whose lease (renewed every second by its worker) is this old, and whose "
        "process is not seen alive on this host, is failed as presumed dead.",
    )
    load_max_expanded_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1,
        description="Largest file a build loads, in bytes, counting a DOCX unzipped (larger: the file fails by name).",
    )
    load_max_blocks: int = Field(
        100_000, ge=1, description="Most paragraphs, table rows or pages a build loads from one file."
    )
    load_max_seconds: float = Field(60.0, gt=0, description="Longest time a build spends loading one file.")

    # sources that keep the index current (issue 15; docs/sources.md, docs/adr/0014)
    source_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Secrets sources name (JSON, e.g. {"handbook-token": "ghp_...", "bucket": "KEYID:SECRET"}): '
        "a Git https token, S3 credentials. Bindings store and show only the names.",
    )
    source_timeout_s: float = Field(120.0, gt=0, description="Longest time one Git or S3 call of a source may take.")
    watch_folders: bool = Field(
        False, description="Watch folder sources (embedded mode) and build an index when its folder changes."
    )
    watch_debounce_ms: int = Field(2000, ge=50, le=600_000, description="Folder watching: changes this close are one.")
    webhook_secret: SecretStr | None = Field(
        None,
        description="Secret of `POST /v1/hooks/git` (GitHub/Gitea HMAC-SHA256 signature, GitLab token); "
        "unset: the hook answers 401.",
    )

    # access, audit, redaction and abuse limits (issue 5; docs/adr/0007, docs/adr/0008)
    auth_enabled: bool = Field(
        True, description="Require an API key (Authorization: Bearer ...); off: every caller is an admin."
    )
    default_access_group: str = Field(
        "everyone",
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$",
        description="Access group of documents that name none; every key is in it.",
    )
    folder_access_groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Access groups of documents by folder prefix in the source (JSON, e.g. {"hr/": ["hr"]}); '
        "the longest matching prefix wins; a document's own access_groups win over it.",
    )
    audit_questions: Literal["text", "hash"] = Field(
        "text", description="What the audit log keeps of a question: its text, or only its SHA-256."
    )
    pii_redaction: bool = Field(True, description="Redact PII (emails, phones, cards, IBANs, SSN, NINO) at ingestion.")
    pii_redaction_indexes: dict[str, bool] = Field(
        default_factory=dict, description='Per-index override of pii_redaction (JSON, e.g. {"public": false}).'
    )
    pii_phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB"],
        description="Regions whose national phone formats redaction recognizes (+ numbers: every region).",
    )
    pii_keep: list[str] = Field(
        default_factory=list,
        description="Values never redacted (JSON list): addresses, numbers (any spacing) and '@domain' entries, "
        "which make a domain the organisation's own (its addresses are kept unless they read as a person's name).",
    )
    pii_keep_indexes: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Per-index values added to pii_keep (JSON, e.g. {"handbooks": ["@gsa.gov", "+1 650 273 5591"]}).',
    )
    pii_contact_min_documents: int = Field(
        2,
        ge=0,
        description="A domain whose addresses, or a phone number, occur in at least this many documents of a build "
        "is a published contact point and kept; 0: keep only configured values, role mailboxes and hotlines.",
    )
    rate_limit: str | None = Field(
        "120/minute", description="Requests per API key (limits syntax, e.g. '120/minute'); empty: no limit."
    )
    rate_limit_storage: str = Field(
        "memory://", description="Where rate-limit counters live: memory:// (one process) or redis://..."
    )

    # sign-in with the company's identity provider (issue 13; docs/adr/0013)
    oidc_issuer: str | None = Field(
        None,
        description="OpenID Connect issuer URL (its /.well-known/openid-configuration is read); set: bearer JWTs "
        "it signs are accepted besides API keys.",
    )
    oidc_audience: str | None = Field(
        None, description="The `aud` an access token must carry; default: oidc_client_id."
    )
    oidc_client_id: str | None = Field(
        None, validate_default=True, description="This application's client id at the identity provider."
    )
    oidc_client_secret: SecretStr | None = Field(None, description="This application's client secret (web sign-in).")
    oidc_groups_claim: str = Field(
        "groups", description="The token claim listing the user's groups (dots reach into objects: realm_access.roles)."
    )
    oidc_group_map: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Identity-provider groups to access groups (JSON, e.g. {"HR-Staff": ["hr"]}); a group not '
        "listed is used as is when it is a valid access group name. A user with none gets the default group.",
    )
    oidc_admin_groups: list[str] = Field(
        default_factory=list, description="Identity-provider groups whose members are admins (JSON list)."
    )
    oidc_owner_groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Identity-provider groups whose members own indexes (JSON, e.g. {"hr-editors": ["policies"]}).',
    )
    oidc_algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "PS256", "ES256"],
        description="Signature algorithms accepted on tokens (JSON list; never `none` or HMAC).",
    )
    oidc_clock_skew_s: int = Field(
        60, ge=0, le=600, description="Seconds of clock difference allowed when checking exp, nbf and iat."
    )
    oidc_scopes: str = Field("openid email profile", description="Scopes the web sign-in asks the provider for.")
    session_max_age_s: int = Field(
        8 * 3600, ge=60, description="How long a web sign-in lasts (the server-side session behind the cookie)."
    )
    session_cookie_secure: bool = Field(
        True, description="Send the session cookie over HTTPS only; turn off only for local http://127.0.0.1."
    )
    oidc_jwks_min_refresh_s: float = Field(
        30.0,
        ge=0,
        description="A token signed with an unknown key id refetches the provider's keys at most this often.",
    )

    public_url: str | None = Field(
        None,
        description="The address employees reach `rag serve` at (e.g. https://policies.example.com): links in Slack "
        "answers and MCP results. Unset: http://RAG_HOST:RAG_PORT.",
    )
    slack_signing_secret: SecretStr | None = Field(
        None, description="The Slack app's signing secret; unset: the /v1/slack routes refuse every request (401)."
    )
    slack_bot_token: SecretStr | None = Field(None, description="The Slack app's bot token (xoxb-...), for posting.")
    slack_api_url: str = Field(
        "https://slack.com/api/", description="Base URL of Slack's Web API (a test server in tests)."
    )
    slack_max_request_age_s: int = Field(
        300, ge=10, le=3600, description="Slack requests older (or newer) than this by their timestamp: 401, a replay."
    )
    slack_user_groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Slack user group id -> access groups of its members, e.g. {"S0123HR": ["hr"]}.',
    )
    slack_email_domain_groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Email domain of a Slack user -> access groups, e.g. {"finance.example.com": ["finance"]}; a '
        "Slack user matching no mapping gets the default group only.",
    )
    slack_directory_ttl_s: float = Field(
        300.0, ge=0, description="How long a Slack user's groups (from users.info, usergroups.users.list) are cached."
    )

    canary_analysis: bool = Field(
        True,
        description="Measure each arm of a running canary and remove, promote or mark it ready by the canary policy "
        "(`rag serve` only).",
    )
    canary_min_questions: int = Field(
        200, ge=1, le=10_000_000, description="Canary policy: questions each arm must answer before any verdict."
    )
    canary_min_duration_s: float = Field(
        1800.0,
        ge=0,
        le=30 * 24 * 3600,
        description="Canary policy: seconds a canary must run before it passes (a worse one is removed sooner).",
    )
    canary_max_worsening: dict[str, float] = Field(
        default_factory=dict,
        description="Canary policy: allowed worsening per metric (JSON), merged over the defaults "
        '{"refusal_rate": 0.02, "thumbs_down_rate": 0.02, "dropped_citation_rate": 0.02, "unsupported_rate": 0.02, '
        '"model_error_rate": 0.01, "latency_p95": 0.5}; rates absolute, latency_p95 a ratio.',
    )
    canary_confidence: float = Field(
        0.95, ge=0.5, le=0.999, description="Canary policy: confidence of the one-sided tests (worse at p < 1 - this)."
    )
    canary_auto_promote: bool = Field(
        False, description="Canary policy: promote a canary that passes; off: mark it ready for a person."
    )
    canary_check_interval_s: float = Field(
        1.0, ge=0.05, le=60, description="How often running canaries are checked when no answer arrives."
    )
    webhook_url: str | None = Field(
        None,
        description="Where canary decisions are POSTed (JSON, signed with RAG_WEBHOOK_SIGNING_SECRET); unset: none.",
    )
    webhook_signing_secret: SecretStr | None = Field(
        None,
        validate_default=True,
        description="Shared secret signing RAG_WEBHOOK_URL deliveries: the body's HMAC-SHA256 is sent as "
        "`X-Rag-Signature: sha256=<hex>` (RAG_WEBHOOK_SECRET is the incoming Git hooks' secret).",
    )
    webhook_attempts: int = Field(5, ge=1, le=20, description="Webhook delivery attempts (exponential backoff).")

    host: str = Field("127.0.0.1", description="Address `rag serve` binds.")
    port: int = Field(8000, ge=0, le=65535, description="Port `rag serve` listens on.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level of `rag serve`.")
    log_format: Literal["json", "console"] = Field(
        "json", description="`json`: one JSON object per line, with the request id; `console`: for people."
    )

    # Field validators, not a model validator: a model validator's error would echo every input,
    # passwords and API keys included (tests/rag/test_secrets.py).
    @field_validator("llm_base_url")
    @classmethod
    def _base_url_needs_model(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and not info.data.get("llm_model"):
            raise ValueError("RAG_LLM_BASE_URL is set but RAG_LLM_MODEL is not: name the model to use")
        return value

    @field_validator("oidc_client_id")
    @classmethod
    def _issuer_needs_audience(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("oidc_issuer") and not (value or info.data.get("oidc_audience")):
            raise ValueError(
                "RAG_OIDC_ISSUER is set: name the token audience (RAG_OIDC_AUDIENCE or RAG_OIDC_CLIENT_ID)"
            )
        return value

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if a.lower() == "none" or a.upper().startswith("HS")]
        if bad:
            raise ValueError(f"{bad} cannot verify a provider's tokens: use RS256, PS256 or ES256")
        return value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _empty_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_signing_secret")
    @classmethod
    def _webhook_needs_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("webhook_url") and not (value and value.get_secret_value()):
            raise ValueError("RAG_WEBHOOK_URL is set but RAG_WEBHOOK_SIGNING_SECRET is not: deliveries must be signed")
        return value

    @field_validator("canary_max_worsening")
    @classmethod
    def _known_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        from rag.canary.policy import check_worsening

        return {str(k): v for k, v in check_worsening(value).items()}

    @field_validator("embedding_threads", "embedding_cache_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value  # RAG_EMBEDDING_THREADS= (empty): unset

    @field_validator("rate_limit")
    @classmethod
    def _check_rate(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None  # RAG_RATE_LIMIT= (empty) turns the limit off
        if value is not None:
            from limits import parse_many

            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a rate such as '120/minute'") from exc
        return value

    @property
    def answerer(self) -> Literal["extractive", "openai"]:
        """``openai`` when a model is configured, else the built-in ``extractive`` answerer."""
        return "openai" if self.llm_model else "extractive"

    @property
    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata database."""
        if self.database_url:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'rag.sqlite3'}"

    def pii_keep_for(self, index: str) -> list[str]:
        """Values redaction keeps in builds of ``index``: ``pii_keep`` plus the index's own."""
        return [*self.pii_keep, *self.pii_keep_indexes.get(index, [])]

    def redacts_pii(self, index: str) -> bool:
        """Whether builds of ``index`` redact PII (the per-index override, else ``pii_redaction``)."""
        return self.pii_redaction_indexes.get(index, self.pii_redaction)

    @property
    def min_free_bytes(self) -> int:
        """``min_free_mb`` in bytes."""
        return self.min_free_mb * 1024 * 1024

    @property
    def shards_dir(self) -> Path:
        """Where the Edge engine keeps one shard directory per version."""
        return self.data_dir / "shards"
