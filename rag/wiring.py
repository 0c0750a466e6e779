"""The composition root: builds every client and component once from settings and hands them out.

Commands that only list versions or move aliases use :func:`rag.registry.build_registry`, which
loads no model (and imports none of the build or answer machinery).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexes.answer_diffs import AnswerDiffs
from indexes.canary import DEFAULT_CANARY_SHARE
from indexes.catalog import Catalog
from indexes.engine import VectorEngine
from indexes.manifest import Manifest
from indexes.release_gates import ReleaseGates
from indexes.releases import AnswerSpec, ModelSpec
from indexes.retention import apply_retention
from indexes.versions import VersionRegistry
from ingest.access_groups import AccessDefaults
from ingest.build import Builder
from ingest.chunking import Chunker
from ingest.document_store import DocumentStore
from ingest.embedding import Embedder, EmbedderPool, embedder_id
from ingest.jobs.identity import worker_id
from ingest.jobs.queue import BuildQueue, make_huey
from ingest.jobs.runner import BuildRunner, Hooks
from ingest.jobs.store import Job, JobState, JobStore
from ingest.jobs.triggers import BuildTrigger
from ingest.load_limits import LoadLimits
from ingest.pii import Redactor
from ingest.source_sync.schedule import SourceScheduler
from ingest.source_sync.sync import SourceSync
from ingest.source_sync.watch import FolderWatcher, folder_bindings
from ingest.sources.bindings import SourceBindings
from prompts import load_prompt
from rag.access.audit import AuditLog
from rag.access.authenticate import Authenticator, build_authenticator
from rag.access.keys import KeyStore
from rag.access.principal import system_principal
from rag.access.web_sign_in import WebSignIn, build_web_sign_in
from rag.answer_check import AnswerChecker
from rag.answer_log import AnswerLog
from rag.answering.base import Answerer
from rag.answering.extractive import ExtractiveAnswerer
from rag.answering.pool import AnswererPool, Profile
from rag.answering.similarity import sentence_similarity
from rag.assistant import Assistant
from rag.calibration import Calibrator
from rag.canary.policy import policy_from_settings
from rag.canary.run_releases import migrate_run_releases
from rag.canary.runs import CanaryRuns
from rag.canary.storage import canary_engine
from rag.canary.watch import CanaryWatch
from rag.canary.webhook import Webhook
from rag.conversation import CombiningCondenser, Condenser, ModelCondenser
from rag.evaluation.answer_diff import diff_questions
from rag.evaluation.answer_gate import AnswerThresholds, answer_gate
from rag.evaluation.gate import gate_evaluation
from rag.evaluation.golden import load_golden_set
from rag.feedback import FeedbackStore
from rag.refusal import FEATURES, WORDLESS_FEATURES
from rag.registry import build_engine
from rag.releases import endpoint
from rag.reranking import load_reranker
from rag.retrieval import Retriever
from rag.sentence_ranking import SentenceRanker
from rag.settings import Settings
from rag.what_changed import VersionTexts

__all__ = [
    "JobServices",
    "Services",
    "build_answerer",
    "build_engine",
    "build_jobs",
    "build_profiles",
    "build_services",
]


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
    documents: DocumentStore
    feedback: FeedbackStore
    keys: KeyStore
    audit: AuditLog
    authenticator: Authenticator
    web_sign_in: WebSignIn | None
    sources: SourceSync
    canary: CanaryWatch
    """Measures running canaries and acts on their policy (its thread runs in ``rag serve`` only)."""
    texts: VersionTexts
    """The text each version holds of its documents (what changed, receipts, stale golden questions)."""
    answer_diffs: AnswerDiffs
    """The answer diff the gate kept for each version it gated."""
    release_gates: ReleaseGates
    """The newest gate result of each release checked (``POST .../releases/{n}/gate``)."""
    jobs: JobServices | None = None
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Stop the in-process worker, release the engine's files and the database pool (idempotent)."""
        if not self._closed:
            self._closed = True
            if self.jobs is not None:
                self.jobs.stop_worker()
            self.canary.close()
            self.embedders.close()
            self.engine.close()
            self.catalog.close()
            if self.authenticator.verifier is not None:
                self.authenticator.verifier.close()


@dataclass
class JobServices:
    """Build jobs: their records, the queue that delivers them and the runner that executes them."""

    store: JobStore
    queue: BuildQueue
    runner: BuildRunner
    trigger: BuildTrigger
    scheduler: SourceScheduler
    watcher: FolderWatcher | None = None
    """Folder watching, when ``watch_folders`` is on."""

    def start_worker(self, threads: int = 1) -> None:
        """Run the build worker, the source schedule and folder watching inside this process (``rag serve``)."""
        self.queue.start(threads)
        self.scheduler.start()
        if self.watcher is not None:
            self.watcher.start()

    def stop_worker(self) -> None:
        """Stop the in-process worker, schedule and watching; a job in hand goes back to the queue."""
        if self.watcher is not None:
            self.watcher.stop()
        self.scheduler.stop()
        self.runner.stopping.set()
        self.queue.stop()


def build_jobs(services: Services) -> JobServices:
    """The job store on the metadata database, the queue (SQLite or Redis) and the runner."""
    settings = services.settings
    store = JobStore(services.catalog.engine)
    hooks = Hooks(collect=services.sources.collect)
    if settings.golden_set is not None:
        golden = load_golden_set(settings.golden_set)
        gated_index = settings.default_index

        questions = diff_questions(golden, settings.golden_set.parent)
        thresholds = AnswerThresholds(
            max_lost_source=settings.gate_max_lost_source, max_newly_refused=settings.gate_max_newly_refused
        )

        def gate(index: str, manifest: Manifest) -> dict[str, Any]:
            if index != gated_index:
                return {}
            result = gate_evaluation(
                services.assistant.retriever, services.registry, index, manifest, golden, settings.gate_tolerance
            )
            if not settings.gate_answer_diff:
                return result
            return answer_gate(
                result,
                assistant=services.assistant,
                registry=services.registry,
                texts=services.texts,
                store=services.answer_diffs,
                manifest=manifest,
                golden=golden,
                questions=questions,
                thresholds=thresholds,
            )

        hooks.gate = gate

    def retention(index: str) -> list[int]:
        return apply_retention(
            services.catalog,
            services.engine,
            services.registry,
            index,
            settings.retain_versions,
            settings.retain_live_days,
        )

    hooks.retention = retention

    def canary_share(index: str) -> float:
        spec = services.sources.spec_for(index)
        return spec.canary_share if spec is not None else DEFAULT_CANARY_SHARE

    hooks.canary_share = canary_share
    worker = worker_id()
    actor = system_principal("worker", f"worker:{worker}")

    def finished(job: Job, state: JobState, result: dict[str, Any] | None, error: str | None) -> None:
        details: dict[str, Any] = {"mode": job.mode, "promote": job.promote, "error": error}
        if result is not None:
            details.update({k: result.get(k) for k in ("version", "promoted", "promotion", "retention_dropped")})
        outcome = "ok" if state == "succeeded" else state
        services.audit.record(actor, "build.finish", outcome, index=job.index, target=job.job_id, details=details)

    hooks.finished = finished
    runner = BuildRunner(store, services.builder, worker, hooks)
    queue = BuildQueue(make_huey(settings.queue_url, settings.data_dir), runner)
    runner.attach(queue)
    trigger = BuildTrigger(store, queue.enqueue)
    bindings = services.sources.bindings
    scheduler = SourceScheduler(bindings, services.sources, trigger)
    watcher = None
    if settings.watch_folders:
        specs = folder_bindings(lambda: {b.index: b.spec for b in bindings.all()})
        watcher = FolderWatcher(specs, trigger, debounce_ms=settings.watch_debounce_ms)
    return JobServices(queue=queue, store=store, runner=runner, trigger=trigger, scheduler=scheduler, watcher=watcher)


def _model_client(settings: Settings) -> Any:
    """An ``openai.OpenAI`` client for the configured model endpoint."""
    import openai

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return openai.OpenAI(
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
    )


def _endpoint_client(settings: Settings, name: str) -> Any:
    """An ``openai.OpenAI`` client for the endpoint ``name`` of ``RAG_MODELS`` (or ``default``)."""
    import openai

    found = endpoint(settings, name)
    key = found.api_key.get_secret_value() if found.api_key else "not-needed"
    return openai.OpenAI(
        base_url=found.base_url, api_key=key, timeout=settings.llm_timeout_s, max_retries=settings.llm_max_retries
    )


def build_profiles(
    settings: Settings, retriever: Retriever, default: Answerer, embedder: Embedder | None = None
) -> AnswererPool:
    """The pool of answering profiles of pinned releases: one answerer, prompt and retriever per distinct
    spec, each model endpoint's client made once."""
    clients: dict[str, Any] = {}
    extractive: list[Answerer] = [default] if default.model.provider == "extractive" else []

    def answerer_for(model: ModelSpec) -> Answerer:
        if model.kind == "extractive":
            if not extractive:
                extractive.append(build_answerer(settings.model_copy(update={"llm_model": None}), embedder))
            return extractive[0]
        from rag.answering.openai_answerer import OpenAIAnswerer

        assert model.endpoint is not None and model.name is not None
        if model.endpoint not in clients:
            clients[model.endpoint] = _endpoint_client(settings, model.endpoint)
        return OpenAIAnswerer(
            clients[model.endpoint], model.name, temperature=model.temperature, max_tokens=model.max_tokens
        )

    def build(spec: AnswerSpec) -> Profile:
        answerer = answerer_for(spec.model)
        r = spec.settings
        return Profile(
            answerer=answerer,
            prompt=load_prompt(spec.prompt),
            retriever=retriever
            if (r.mode, r.fusion) == (retriever.mode, retriever.fusion)
            else retriever.configured(mode=r.mode, fusion=r.fusion),
            checker=(
                AnswerChecker(settings.unsupported_answers, settings.grounding_min_overlap)
                if answerer.model.provider != "extractive"
                else None
            ),
            top_k=r.top_k,
            refusal_threshold=r.refusal_threshold,
            calibrated_refusal=r.calibrated_refusal,
        )

    return AnswererPool(build)


def build_condenser(settings: Settings) -> Condenser:
    """Follow-ups made standalone by the model's condense prompt, or combined with the previous question."""
    if settings.llm_model:
        return ModelCondenser(_model_client(settings), settings.llm_model, load_prompt(settings.condense_prompt))
    return CombiningCondenser()


def build_answerer(settings: Settings, embedder: Embedder | None = None) -> Answerer:
    """The OpenAI-protocol answerer when a model is configured, else the extractive one."""
    if settings.llm_model:
        from rag.answering.openai_answerer import OpenAIAnswerer

        return OpenAIAnswerer(_model_client(settings), settings.llm_model)
    # Sentences are also chosen by meaning (embedded at question time, cached): on the handbook dev
    # set this is most of the gain in answers that state the fact (docs/benchmarks.md).
    semantic = settings.extractive_semantic and embedder is not None
    return ExtractiveAnswerer(
        similarity=sentence_similarity(embedder) if semantic and embedder else None,
        semantic_candidates=settings.extractive_semantic_sentences,
    )


def calibration_sets(settings: Settings) -> dict[str, Path]:
    """Where each index's calibration questions are: the setting, plus the default index's golden set
    when an ``unanswerable.jsonl`` lies beside it."""
    sets = dict(settings.calibration_sets)
    golden = settings.golden_set
    if golden is not None and settings.default_index not in sets and (golden.parent / "unanswerable.jsonl").is_file():
        sets[settings.default_index] = golden
    return sets


def build_calibrator(settings: Settings, retriever: Retriever) -> Calibrator | None:
    """The build step that calibrates refusals, when any index has calibration questions."""
    sets = calibration_sets(settings)
    if not sets:
        return None
    return Calibrator(
        retriever,
        sets,
        top_k=settings.top_k,
        max_false_refusal=settings.max_false_refusal,
        features=FEATURES if settings.refusal_weakest_term else WORDLESS_FEATURES,
    )


def build_canary_watch(settings: Settings, registry: VersionRegistry, audit: AuditLog) -> CanaryWatch:
    """The canary watcher with the settings' default policy and webhook (not started)."""
    webhook = None
    if settings.webhook_url and settings.webhook_signing_secret is not None:
        webhook = Webhook(
            settings.webhook_url,
            settings.webhook_signing_secret.get_secret_value(),
            attempts=settings.webhook_attempts,
        )
    runs_engine = canary_engine(registry.catalog.engine)  # a file of its own in embedded mode
    runs = CanaryRuns(runs_engine, feedback_engine=registry.catalog.engine)
    migrate_run_releases(registry.catalog, runs_engine)  # runs begun before runs were keyed by release
    return CanaryWatch(
        registry,
        runs,
        audit,
        policy_from_settings(settings),
        webhook=webhook,
        interval_s=settings.canary_check_interval_s,
    )


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
    embedders = EmbedderPool(
        settings.embedding_device,
        settings.embedding_batch_size,
        batching=settings.embedding_batching,
        cache_dir=settings.embedding_cache_dir,
        threads=settings.embedding_threads,
    )
    if embedder is None:
        embedder = embedders.get(embedder_id(settings.embedding_model, settings.embedding_backend))
    else:
        embedder = embedders.add(embedder)
    chunker = Chunker(
        embedder.count_tokens,
        max_tokens=min(settings.chunk_max_tokens or embedder.max_content_tokens, embedder.max_content_tokens),
        overlap_tokens=settings.chunk_overlap_tokens,
        embed_headings=settings.chunk_embed_headings,
    )
    redactors: dict[str, Redactor] = {}

    def redactor_for(index: str) -> Redactor | None:
        if not settings.redacts_pii(index):
            return None
        if index not in redactors:
            redactors[index] = Redactor(
                phone_regions=tuple(settings.pii_phone_regions),
                keep=tuple(settings.pii_keep_for(index)),
                min_documents=settings.pii_contact_min_documents,
            )
        return redactors[index]

    retriever = Retriever(
        engine,
        embedders,
        mode=settings.retrieval_mode,
        prefetch_limit=settings.prefetch_limit,
        rrf_k=settings.rrf_k,
        fusion=settings.fusion,
        weights=settings.fusion_weights,
        reranker=load_reranker(settings.reranker_model, settings.embedding_device) if settings.reranker_model else None,
        rerank_candidates=settings.rerank_candidates,
        scope_questions=settings.scope_questions,
        collapse_duplicates=settings.collapse_duplicates,
        sentence_ranker=SentenceRanker(prior=settings.sentence_prior),
        sentence_candidates=settings.sentence_candidates,
    )
    builder = Builder(
        catalog,
        engine,
        registry,
        embedder,
        chunker,
        access=AccessDefaults(settings.default_access_group, settings.folder_access_groups),
        redactor_for=redactor_for,
        limits=LoadLimits(settings.load_max_expanded_bytes, settings.load_max_blocks, settings.load_max_seconds),
        calibrator=build_calibrator(settings, retriever),
    )
    answers = AnswerLog(catalog.engine)
    audit = AuditLog(catalog.engine)
    canary = build_canary_watch(settings, registry, audit)
    answerer = answerer or build_answerer(settings, embedder)
    if isinstance(answerer, ExtractiveAnswerer) and answerer.similarity is not None and retriever.sentence_ranker:
        # one sentence cache: a sentence embedded to rank chunks is not embedded again to answer
        retriever.sentence_ranker.share(embedder, answerer.similarity)
    assistant = Assistant(
        registry,
        retriever,
        answerer,
        load_prompt(settings.prompt),
        answers,
        default_index=settings.default_index,
        top_k=settings.top_k,
        refusal_threshold=settings.refusal_threshold,
        max_question_chars=settings.max_question_chars,
        checker=(
            AnswerChecker(settings.unsupported_answers, settings.grounding_min_overlap)
            if answerer.model.provider != "extractive"
            else None
        ),
        condenser=build_condenser(settings),
        observer=canary,
        profiles=build_profiles(settings, retriever, answerer, embedder),
    )
    documents = DocumentStore(catalog.engine, settings.data_dir / "uploads", upload_max_bytes=settings.upload_max_bytes)
    sources = SourceSync(
        documents,
        SourceBindings(catalog.engine),
        catalog,
        settings.source_secrets,
        settings.data_dir / "sources",
        max_bytes=settings.load_max_expanded_bytes,
        timeout_s=settings.source_timeout_s,
    )
    services = Services(
        settings=settings,
        catalog=catalog,
        engine=engine,
        registry=registry,
        embedders=embedders,
        embedder=embedder,
        builder=builder,
        assistant=assistant,
        answers=answers,
        documents=documents,
        feedback=FeedbackStore(catalog.engine),
        keys=(keys := KeyStore(catalog.engine)),
        audit=audit,
        authenticator=(authenticator := build_authenticator(settings, keys)),
        web_sign_in=build_web_sign_in(settings, authenticator.verifier, catalog.engine),
        sources=sources,
        canary=canary,
        texts=VersionTexts(catalog, engine, builder.texts),
        answer_diffs=AnswerDiffs(catalog.engine),
        release_gates=registry.gates,
    )
    services.jobs = build_jobs(services)
    return services
