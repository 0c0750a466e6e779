"""`rag source` and `rag check`: bind an index to a folder, Git repository or S3 bucket, and check it for changes.

Both load no model: they open the metadata database only (``rag check --build`` queues a job, which a
running ``rag serve`` or ``rag worker`` builds).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from indexes.canary import DEFAULT_CANARY_SHARE
from rag.commands.common import cli_actor, fail, load_settings, out
from rag.errors import RagError
from rag.settings import Settings

__all__ = ["check_command", "source_command"]

if TYPE_CHECKING:
    from ingest.source_sync.sync import SourceSync


@contextmanager
def _sync() -> Iterator[tuple[Settings, SourceSync]]:
    from indexes.catalog import Catalog
    from ingest.document_store import DocumentStore
    from ingest.source_sync.sync import SourceSync
    from ingest.sources.bindings import SourceBindings

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.from_url(settings.metadata_url)
    try:
        documents = DocumentStore(catalog.engine, settings.data_dir / "uploads")
        yield (
            settings,
            SourceSync(
                documents,
                SourceBindings(catalog.engine),
                catalog,
                settings.source_secrets,
                settings.data_dir / "sources",
                max_bytes=settings.load_max_expanded_bytes,
                timeout_s=settings.source_timeout_s,
            ),
        )
    finally:
        catalog.close()


def source_command(
    index: Annotated[str, typer.Argument(help="Index name.")],
    folder: Annotated[Path | None, typer.Argument(help="A folder on this host to build the index from.")] = None,
    git: Annotated[str | None, typer.Option(help="A Git repository: a path on this host or an https/ssh URL.")] = None,
    branch: Annotated[str, typer.Option(help="Git: the branch.")] = "main",
    path: Annotated[str, typer.Option(help="Git: only documents under this folder of the repository.")] = "",
    token_secret: Annotated[str | None, typer.Option(help="Git: name of the token in RAG_SOURCE_SECRETS.")] = None,
    s3: Annotated[str | None, typer.Option(help="An S3 bucket.")] = None,
    prefix: Annotated[str, typer.Option(help="S3: only objects under this prefix.")] = "",
    endpoint_url: Annotated[str | None, typer.Option(help="S3: an S3-compatible endpoint.")] = None,
    region: Annotated[str | None, typer.Option(help="S3: the region.")] = None,
    confluence: Annotated[str | None, typer.Option(help="A Confluence site (https://x.atlassian.net).")] = None,
    space: Annotated[str | None, typer.Option(help="Confluence: the space key.")] = None,
    credentials_secret: Annotated[
        str | None, typer.Option(help="S3: 'KEY_ID:SECRET'; Confluence: 'email:token'; a name in RAG_SOURCE_SECRETS.")
    ] = None,
    every: Annotated[str | None, typer.Option(help="Check for changes this often (15m, 2h, 1d).")] = None,
    promote: Annotated[
        str, typer.Option(help="Promotion of triggered builds: never, if_gate_passes, always or canary.")
    ] = "if_gate_passes",
    canary_share: Annotated[
        float, typer.Option(help="With --promote canary: the share of questions the new version answers.")
    ] = DEFAULT_CANARY_SHARE,
) -> None:
    """Bind an index to its source (a folder, --git, --s3 or --confluence); without one, show the binding."""
    from ingest.sources.specs import spec_adapter

    chosen = [x for x in (folder, git, s3, confluence) if x is not None]
    if len(chosen) > 1:
        raise fail("give one source: a folder, --git, --s3 or --confluence")
    try:
        with _sync() as (_, sync):
            if not chosen:
                spec = sync.spec_for(index)
                binding = sync.bindings.get(index)
                if spec is None:
                    out.print(f"index {index} has no source")
                    return
                out.print(f"index {index}: {spec.model_dump_json()}")
                if binding is not None and binding.last_check_at is not None:
                    out.print(
                        f"last check {binding.last_check_at:%Y-%m-%d %H:%M:%S}, last change "
                        f"{binding.last_change_at or 'never'}, next {binding.next_check_at or 'not scheduled'}"
                        + (f", error: {binding.last_error}" if binding.last_error else "")
                    )
                return
            raw: dict[str, Any] = {"every": every, "promote": promote, "canary_share": canary_share}
            if folder is not None:
                raw.update(kind="folder", folder=str(folder))
            elif git is not None:
                raw.update(kind="git", url=git, branch=branch, path=path, token_secret=token_secret)
            elif confluence is not None:
                raw.update(kind="confluence", base_url=confluence, space=space, credentials_secret=credentials_secret)
            else:
                raw.update(
                    kind="s3",
                    bucket=s3,
                    prefix=prefix,
                    endpoint_url=endpoint_url,
                    region=region,
                    credentials_secret=credentials_secret,
                )
            try:
                spec = spec_adapter.validate_python(raw)
            except ValidationError as exc:
                raise fail("; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())) from None
            sync.bind(index, spec)
            bound = sync.source_for(index)
            out.print(f"index {index} builds from {bound.label if bound else spec.kind}")
    except RagError as exc:
        raise fail(exc.message) from None


def check_command(
    index: Annotated[str, typer.Argument(help="Index name.")],
    build: Annotated[bool, typer.Option(help="Queue a build when the source changed.")] = False,
) -> None:
    """Check an index's source for changes since its newest built version (exit 0 either way; 1 on error)."""
    from datetime import UTC, datetime

    try:
        with _sync() as (settings, sync):
            check = sync.check(index)
            sync.bindings.record_check(index, datetime.now(UTC), revision=check.revision, changed=check.changed)
            spec = sync.spec_for(index)
    except RagError as exc:
        raise fail(exc.message) from None
    if not check.changed:
        out.print(f"{index}: no change since {check.built_revision}")
        return
    out.print(f"{index}: changed (built at {check.built_revision or 'nothing recorded'}, now {check.revision})")
    if build:
        from rag.wiring import build_services

        services = build_services(settings)
        try:
            assert services.jobs is not None
            promote = spec.promote if spec is not None else "if_gate_passes"
            job, new = services.jobs.trigger.request(index, promote, cli_actor().name + " check")
        finally:
            services.close()
        out.print(f"{'queued' if new else 'joined'} job {job.job_id}")
