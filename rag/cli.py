"""The ``rag`` command line: versions, asking and serving; mounts eval, feedback, keys and audit."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from rag.commands.access import audit_app, keys_app
from rag.commands.common import cli_actor, err, fail, load_settings, out, unknown_index
from rag.commands.evaluate import eval_command
from rag.commands.feedback import feedback_app, golden_app
from rag.commands.releases import release_command, releases_command
from rag.commands.sources import check_command, source_command
from rag.errors import RagError
from rag.progress import progress_bar
from rag.settings import Settings

if TYPE_CHECKING:
    from indexes.catalog import VersionInfo
    from rag.registry import Registry
    from rag.wiring import Services

__all__ = ["app"]

app = typer.Typer(
    help="Policy assistant: versioned policy indexes and answers with citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("eval")(eval_command)
app.add_typer(feedback_app, name="feedback")
app.add_typer(golden_app, name="golden")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.command(name="source")(source_command)
app.command(name="check")(check_command)
app.command(name="release")(release_command)
app.command(name="releases")(releases_command)


@contextmanager
def _services() -> Iterator[Services]:
    """Services built from the environment's settings, closed on exit (heavy imports load here)."""
    from rag.wiring import build_services

    services = build_services(load_settings())
    try:
        yield services
    finally:
        services.close()


@contextmanager
def _registry() -> Iterator[Registry]:
    """Versions and aliases only, closed on exit: commands that list or move aliases load no model."""
    from rag.registry import build_registry

    with _closing(build_registry(load_settings())) as registry:
        yield registry


@app.command()
def ingest(
    source: Annotated[Path, typer.Argument(help="Folder of policy documents (md, html, pdf, docx, txt).")],
    index: Annotated[str, typer.Option(help="Index name.")] = "policies",
    promote: Annotated[bool, typer.Option(help="Point the index's alias at the new version.")] = False,
    if_changed: Annotated[
        bool, typer.Option(help="Do nothing when the live version was built from the same documents.")
    ] = False,
) -> None:
    """Build SOURCE into a new version of an index."""
    from indexes.refs import check_index_name
    from ingest.sources import discover

    try:
        check_index_name(index)
        discover(source)  # a missing or empty source fails here, before any model is loaded
        with _services() as s:
            if if_changed and _unchanged(s, index, source):
                live = s.registry.live_version(index)
                out.print(f"{index}@{live} is live and built from the same documents: nothing to do.")
                return
            with progress_bar(err) as bar:
                tasks: dict[str, object] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    label = {"load": "reading documents", "embed": "embedding chunks"}.get(stage, stage)
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(label, total=total)
                    bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

                result = s.builder.build(index, source, promote=promote, progress=progress)
    except RagError as exc:
        raise fail(exc.message) from None
    m = result.manifest
    if result.full_build_reason:
        out.print(result.full_build_reason)
    out.print(
        f"built [bold]{index}@{m.version}[/]: {len(m.documents)} documents, {m.chunk_count} chunks "
        f"({m.chunks_embedded} embedded, {m.chunks_reused} reused) in {m.timings_ms['total'] / 1000:.1f} s"
    )
    for e in m.errors:
        err.print(f"[yellow]skipped[/] {e.source}: {e.error}")
    if result.promoted:
        out.print(f"alias [bold]{index}[/] -> version {m.version}")
    else:
        out.print(f"not promoted; run: rag promote {index} {m.version}")


def _unchanged(services: Services, index: str, source: Path) -> bool:
    """Whether the live version was built by the same embedder from documents with the same hashes and groups."""
    from ingest.loaders import LoadError, load_document
    from ingest.sources import discover

    live = services.registry.live_version(index)
    if live is None:
        return False
    info = services.catalog.get_version(index, live)
    if info is None or info.manifest is None or info.manifest.embedder != services.embedder.spec:
        return False
    files, _ = discover(source)
    loaded = []
    for f in files:
        try:
            loaded.append(load_document(f.path, f.name))
        except LoadError:
            continue
    redactor = services.builder.corpus_redactor(index, loaded)  # as the build would redact them
    seen: dict[str, tuple[str, object]] = {}
    for raw in loaded:
        try:
            doc = services.builder.prepare(index, raw, redactor=redactor)
        except LoadError:
            continue
        seen[doc.doc_id] = (doc.content_hash, doc.metadata.get("access_groups"))
    return seen == {d.doc_id: (d.content_hash, d.metadata.get("access_groups")) for d in info.manifest.documents}


@app.command()
def versions(index: Annotated[str, typer.Argument(help="Index name.")] = "policies") -> None:
    """List the versions of an index, newest first; ready versions are probed (a search each)."""
    from indexes.health import DAMAGED

    with _registry() as s:
        rows = s.catalog.list_versions(index)
        live = s.registry.live_version(index) or s.registry.expected_live(index)
        if not rows:
            raise unknown_index(index, s.catalog.list_indexes(), "versions")
        damage = {v.version: msg for v in rows if (msg := _storage_damage(s, v)) is not None}
    table = Table("version", "state", "live", "documents", "chunks", "embedder", "created")
    for v in rows:
        m = v.manifest
        table.add_row(
            str(v.version),
            DAMAGED if v.version in damage else v.state,
            "*" if v.version == live else "",
            str(len(m.documents)) if m else "-",
            str(m.chunk_count) if m else "-",
            m.embedder.model_id if m else "-",
            v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    out.print(table)
    for number, message in damage.items():
        err.print(f"[red]damaged[/] v{number}: {message}", soft_wrap=True)


@app.command()
def history(
    index: Annotated[str, typer.Argument(help="Index name.")] = "policies",
    as_json: Annotated[bool, typer.Option("--json", help="Print the spans as JSON.")] = False,
) -> None:
    """Which version was live when (the live alias's switches, oldest first), and who switched it."""
    from indexes.live_history import live_spans

    with _registry() as s:
        rows = s.catalog.list_versions(index)
        spans = live_spans(s.catalog.alias_history(index))
        states = {v.version: v.state for v in rows}
        if not rows:
            raise unknown_index(index, s.catalog.list_indexes(), "history")
        dropped = {sp.version: s.catalog.dropped_at(index, sp.version) for sp in spans}
    if as_json:
        data = [
            {
                "version": sp.version,
                "live_from": sp.live_from.isoformat(),
                "live_until": sp.live_until.isoformat() if sp.live_until else None,
                "action": sp.action,
                "actor": sp.actor,
                "state": states.get(sp.version),
                "dropped_at": d.isoformat() if (d := dropped.get(sp.version)) else None,
            }
            for sp in spans
        ]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    table = Table("version", "live from (UTC)", "live until (UTC)", "action", "actor", "state")
    for sp in spans:
        state = states.get(sp.version, "-")
        when = dropped.get(sp.version)
        table.add_row(
            str(sp.version),
            sp.live_from.strftime("%Y-%m-%d %H:%M:%S"),
            sp.live_until.strftime("%Y-%m-%d %H:%M:%S") if sp.live_until else "(live)",
            sp.action,
            sp.actor or "-",
            f"{state} {when:%Y-%m-%d}" if when else state,
        )
    out.print(table)


def _storage_damage(services: Registry, info: VersionInfo) -> str | None:
    """Why a ready version's storage cannot answer (missing, fails a search), or None when it can.

    A version open in another process (a running `rag serve`) is not probed here.
    """
    from indexes.catalog import VersionState
    from indexes.errors import ShardBusy, StorageDamaged

    known = services.registry.damage(info)
    if known is not None:
        return known.message
    if info.state != VersionState.READY or info.manifest is None:
        return None
    try:
        services.registry.health.probe(info.index, info.version, info.manifest.embedder.dimension)
    except ShardBusy:
        return None
    except StorageDamaged as exc:
        return exc.message
    return None


@app.command()
def promote(
    index: Annotated[str, typer.Argument(help="Index name.")],
    version: Annotated[int, typer.Argument(help="Version to make live.")],
    force: Annotated[bool, typer.Option("--force", help="Promote even though its release's gate failed.")] = False,
) -> None:
    """Point the index's alias at VERSION (a no-op, said so, when it is already live)."""
    from indexes.errors import AlreadyLive

    try:
        actor = cli_actor()
        with _registry() as s, s.audit.action(actor, "promote", index=index, target=f"v{version}") as audited:
            if force:
                audited.details["force"] = True
            previous = s.registry.promote(index, version, actor=actor.name, force=force)
    except AlreadyLive as exc:
        out.print(exc.message)
        return
    except RagError as exc:
        raise fail(exc.message) from None
    out.print(f"alias {index}: {previous or '-'} -> {version}")


@app.command()
def rollback(index: Annotated[str, typer.Argument(help="Index name.")] = "policies") -> None:
    """Return the alias to the previously promoted version."""
    try:
        actor = cli_actor()
        with _registry() as s, s.audit.action(actor, "rollback", index=index):
            before, after = s.registry.rollback(index, actor=actor.name)
    except RagError as exc:
        raise fail(exc.message) from None
    out.print(f"alias {index}: {before} -> {after}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    index: Annotated[str | None, typer.Option(help="'policies' or 'policies@3'.")] = None,
    top_k: Annotated[int | None, typer.Option(help="Chunks to retrieve.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer record.")] = False,
) -> None:
    """Ask a question and print the answer with its citations."""
    try:
        with _services() as s:
            record = s.assistant.ask(question, index, top_k)
    except RagError as exc:
        raise fail(exc.message) from None
    if as_json:
        sys.stdout.write(json.dumps(record.model_dump(mode="json"), indent=2) + "\n")
        return
    out.print(record.answer)
    for c in record.citations:
        where = " > ".join([c.title, *[h for h in c.heading_path if h != c.title]])
        page = f", page {c.page}" if c.page else ""
        out.print(f"  [{c.n}] {where} ({c.source}{page})")
    out.print(
        f"[dim]{record.index.name}@{record.index.version} · prompt {record.prompt.name}/"
        f"{record.prompt.version} · {record.model.provider}:{record.model.name}[/]"
    )


@app.command()
def build(
    index: Annotated[str, typer.Argument(help="Index name.")] = "policies",
    mode: Annotated[str, typer.Option(help="incremental or full.")] = "incremental",
    promote: Annotated[str, typer.Option(help="never, if_gate_passes or always.")] = "if_gate_passes",
    source: Annotated[Path | None, typer.Option(help="Folder to build instead of the configured sources.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the job to finish (a worker must be running).")] = False,
) -> None:
    """Queue a build job (run by `rag serve` or `rag worker`); prints the job id."""
    import time

    from indexes.refs import check_index_name

    if mode not in ("incremental", "full") or promote not in ("never", "if_gate_passes", "always"):
        raise fail("--mode is incremental|full and --promote is never|if_gate_passes|always")
    try:
        check_index_name(index)
        with _services() as s:
            assert s.jobs is not None
            job = s.jobs.store.create(
                index, mode, promote, str(source.resolve()) if source else None, trigger=cli_actor().name
            )
            s.jobs.queue.enqueue(job.job_id)
            out.print(f"queued job {job.job_id} ({mode} build of {index}, promote: {promote})")
            while wait:
                current = s.jobs.store.get(job.job_id)
                assert current is not None
                if current.state in ("succeeded", "failed", "cancelled"):
                    out.print(f"job {job.job_id} {current.state}: {current.error or current.result}")
                    if current.state != "succeeded":
                        raise typer.Exit(1)
                    break
                time.sleep(1)
    except RagError as exc:
        raise fail(exc.message) from None


@app.command()
def jobs(index: Annotated[str | None, typer.Option(help="Only this index.")] = None) -> None:
    """List build jobs, newest first."""
    with _services() as s:
        assert s.jobs is not None
        rows = s.jobs.store.list_jobs(index)
    table = Table("job", "index", "state", "mode", "promote", "version", "created")
    for j in rows:
        version = str(j.result.get("version", "")) if j.result else ""
        table.add_row(
            j.job_id, j.index, j.state, j.mode, j.promote, version, j.created_at.strftime("%Y-%m-%d %H:%M:%S")
        )
    out.print(table)


@app.command()
def worker(threads: Annotated[int, typer.Option(help="Worker threads.")] = 1) -> None:
    """Run build jobs from the queue in the foreground (multi-host: beside N API replicas)."""
    from datetime import timedelta

    from ingest.jobs.recovery import recover

    with _services() as s:
        assert s.jobs is not None
        done = recover(s.jobs.store, s.jobs.queue, s.catalog, s.engine, timedelta(seconds=s.settings.job_stale_after_s))
        if done.failed_jobs or done.requeued_jobs:
            err.print(f"recovered: failed {done.failed_jobs}, requeued {done.requeued_jobs}")
        out.print(f"worker {s.jobs.runner.worker} waiting for build jobs (Ctrl-C stops)")
        s.jobs.scheduler.start()  # scheduled source checks (issue 15); stopped when the services close
        s.jobs.queue.run_forever(threads)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default RAG_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default RAG_PORT).")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from api.app import create_app

    settings = load_settings()
    if settings.embedding_threads is None:  # serving: one thread per model call (see the setting)
        settings = settings.model_copy(update={"embedding_threads": 1})
    if settings.reranker_model:  # a model that cannot load is a start-up error, said plainly
        from rag.reranking import load_reranker

        try:
            load_reranker(settings.reranker_model, settings.embedding_device)
        except RagError as exc:
            raise fail(exc.message) from None
    bind_host = host or settings.host
    bind_port = port if port is not None else settings.port
    out.print(
        f"serving on http://{bind_host}:{bind_port} (web page at /, admin at /admin, API docs at /docs); "
        f"data in {settings.data_dir.resolve()}"
    )
    out.print(_sample_request(settings, bind_host, bind_port))
    from rag.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(create_app(settings), host=bind_host, port=bind_port, log_config=None)


@app.command("prepare-model")
def prepare_model() -> None:
    """Load the configured embedder once, so the first build or question does not wait for it.

    The ONNX backends (the default is onnx-int8) export and quantize the packaged weights into the
    model cache (RAG_EMBEDDING_CACHE_DIR); `make install` runs this. Never downloads anything.
    """
    import time

    from ingest.embedding import embedder_id, load_embedder
    from ingest.onnx_encoder import default_cache_dir

    settings = load_settings()
    name = embedder_id(settings.embedding_model, settings.embedding_backend)
    started = time.perf_counter()
    try:
        embedder = load_embedder(name, settings.embedding_device, cache_dir=settings.embedding_cache_dir)
    except RagError as exc:
        raise fail(exc.message) from None
    folder = settings.embedding_cache_dir or default_cache_dir()
    where = "" if settings.embedding_backend == "torch" else f"; exports in {folder}"
    out.print(f"{embedder.model_id} ready in {time.perf_counter() - started:.1f} s{where}", soft_wrap=True)


@app.command()
def mcp(
    key: Annotated[
        str | None,
        typer.Option(envvar="RAG_KEY", help="The API key (or identity-provider token) the tools act for."),
    ] = None,
) -> None:
    """Serve the MCP tools over stdio for a local AI assistant (ask, search, list indexes, read documents)."""
    from api.mcp.stdio import serve_stdio, stdio_principal

    with _services() as s:
        try:
            principal = stdio_principal(s, key)
        except RagError as exc:
            raise fail(exc.message) from None
        err.print(f"MCP server on stdio, acting for {principal.label}")
        serve_stdio(s, principal)


def _sample_request(settings: Settings, host: str, port: int) -> str:
    """Which indexes are live, and a request that asks one of them (the default index when it is live)."""
    from rag.registry import build_registry

    with _closing(build_registry(settings)) as registry:
        live = registry.live_indexes()
    default = settings.default_index
    if not live:
        return (
            f"no index is live yet: build one with `rag ingest FOLDER --index {default} --promote`, "
            "then ask it (POST /v1/ask)"
        )
    body: dict[str, str] = {"question": "How many vacation days do I get?"}
    if default not in live:
        body["index"] = next(iter(live))
    lines = [
        "live indexes: "
        + ", ".join(f"{name}@{version}" for name, version in live.items())
        + ("" if default in live else f" (the default index {default!r} is not live; RAG_DEFAULT_INDEX changes it)"),
        f"try: curl -s http://{host}:{port}/v1/ask -H 'content-type: application/json' "
        + ('-H "Authorization: Bearer $RAG_KEY" ' if settings.auth_enabled else "")
        + f"-d '{json.dumps(body)}'",
    ]
    if settings.auth_enabled:
        lines.append("(RAG_KEY: a key from `rag keys bootstrap` or `rag keys create`)")
    return "\n".join(lines)


@contextmanager
def _closing(registry: Registry) -> Iterator[Registry]:
    try:
        yield registry
    finally:
        registry.close()


def main() -> None:
    """The ``rag`` command: the app, with a database that cannot be opened or used (a missing folder's
    permissions, a file in a directory's place, a server that is down) reported in one line with exit
    status 2, never a traceback."""
    import sqlalchemy as sa

    try:
        app()
    except sa.exc.OperationalError as exc:
        err.print(
            f"[bold red]error:[/] the metadata database could not be used: {exc.orig}. "
            "Check RAG_DATA_DIR (its files must be readable and writable) or RAG_DATABASE_URL."
        )
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
