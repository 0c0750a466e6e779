"""`rag release` and `rag releases`: make a release of an index (and promote or canary it), list them.

Both load no model: they open the catalog and the engine only (``rag.registry``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from rag.commands.common import cli_actor, fail, load_settings, out, unknown_index
from rag.errors import RagError
from rag.settings import Settings

if TYPE_CHECKING:
    from indexes.releases import ModelSpec, Release
    from rag.registry import Registry

__all__ = ["release_command", "releases_command"]


@contextmanager
def _registry() -> Iterator[Registry]:
    from rag.registry import build_registry

    registry = build_registry(load_settings())
    try:
        yield registry
    finally:
        registry.close()


def _model(spec: str | None, temperature: float | None, max_tokens: int | None) -> ModelSpec | None:
    """``extractive`` or ``ENDPOINT:MODEL`` as a model spec (None: keep the live release's)."""
    from pydantic import ValidationError

    from indexes.releases import ModelSpec

    if spec is None:
        if temperature is not None or max_tokens is not None:
            raise fail("--temperature and --max-tokens go with --model ENDPOINT:MODEL")
        return None
    fields: dict[str, Any] = {"kind": "extractive"}
    if spec != "extractive":
        endpoint, _, name = spec.partition(":")
        if not endpoint or not name:
            raise fail(f"--model {spec!r}: use 'extractive' or ENDPOINT:MODEL (an endpoint named in RAG_MODELS)")
        fields = {"kind": "openai", "endpoint": endpoint, "name": name}
        if temperature is not None:
            fields["temperature"] = temperature
        if max_tokens is not None:
            fields["max_tokens"] = max_tokens
    try:
        return ModelSpec.model_validate(fields)
    except ValidationError as exc:
        raise fail(f"invalid model: {exc.errors()[0]['msg']}") from None


def _describe(release: Release, settings: Settings) -> dict[str, Any]:
    from rag.releases import effective_spec

    spec = effective_spec(release, settings)
    return {
        "number": release.number,
        "version": release.version,
        "follows_settings": release.follows_settings,
        "prompt": spec.prompt,
        "model": spec.model.model_dump(),
        "settings": spec.settings.model_dump(),
        "created_at": release.created_at.isoformat(),
        "created_by": release.created_by,
    }


def release_command(
    index: Annotated[str, typer.Argument(help="Index name.")],
    version: Annotated[int | None, typer.Option(help="Index version (default: the live release's).")] = None,
    prompt: Annotated[str | None, typer.Option(help="Answer prompt, e.g. answer/v2.")] = None,
    model: Annotated[str | None, typer.Option(help="'extractive' or ENDPOINT:MODEL (endpoint in RAG_MODELS).")] = None,
    temperature: Annotated[float | None, typer.Option(help="With --model: the sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="With --model: the longest answer in tokens.")] = None,
    mode: Annotated[str | None, typer.Option(help="Retrieval: hybrid, dense or sparse.")] = None,
    fusion: Annotated[str | None, typer.Option(help="Retrieval: rrf or dbsf.")] = None,
    top_k: Annotated[int | None, typer.Option(help="Retrieval: chunks per question.")] = None,
    refusal_threshold: Annotated[float | None, typer.Option(help="Refuse below this best similarity.")] = None,
    promote: Annotated[bool, typer.Option("--promote", help="Make the release live at once.")] = False,
    force: Annotated[bool, typer.Option("--force", help="With --promote: even though its gate failed.")] = False,
    canary: Annotated[float | None, typer.Option(help="Make the release the canary with this share.")] = None,
) -> None:
    """Make a release of INDEX: the options given, the rest copied from the live release."""
    from rag.releases import new_release

    if promote and canary is not None:
        raise fail("--promote and --canary exclude each other")
    retrieval = {
        k: v
        for k, v in {"mode": mode, "fusion": fusion, "top_k": top_k, "refusal_threshold": refusal_threshold}.items()
        if v is not None
    }
    answerer = _model(model, temperature, max_tokens)
    try:
        actor = cli_actor()
        with _registry() as s:
            with s.audit.action(actor, "release.create", index=index) as audited:
                made = new_release(
                    s.registry,
                    s.settings,
                    index,
                    version=version,
                    prompt=prompt,
                    model=answerer,
                    retrieval=retrieval,
                    actor=actor.name,
                )
                audited.target = f"release {made.number}"
            described = _describe(made, s.settings)
            follows = " (follows the settings)" if made.follows_settings else ""
            out.print(
                f"release {made.number} of {index}: v{made.version}, {described['prompt']}, {_label(made, s)}{follows}"
            )
            if promote:
                with s.audit.action(actor, "promote", index=index, target=f"release {made.number}") as audited:
                    if force:
                        audited.details["force"] = True
                    switch = s.registry.promote_release(index, made.number, actor=actor.name, force=force)
                out.print(f"alias {index}: release {switch.previous_release or '-'} -> {made.number}")
            if canary is not None:
                with s.audit.action(actor, "canary.set", index=index, target=f"release {made.number}"):
                    s.registry.set_canary_release(index, made.number, canary, actor=actor.name)
                out.print(f"canary {index}:canary: release {made.number}, share {canary}")
    except RagError as exc:
        raise fail(exc.message) from None


def _label(release: Release, registry: Registry) -> str:
    from rag.releases import effective_spec

    return effective_spec(release, registry.settings).model.label()


def releases_command(
    index: Annotated[str, typer.Argument(help="Index name.")] = "policies",
    as_json: Annotated[bool, typer.Option("--json", help="Print the releases as JSON.")] = False,
) -> None:
    """List the releases of INDEX, newest first, with the live and canary ones marked."""
    try:
        with _registry() as s:
            found = s.registry.releases.list(index)
            if not found and not s.catalog.list_versions(index):
                raise unknown_index(index, s.catalog.list_indexes(), "releases")
            live = s.registry.live_release(index)
            canary = s.registry.canary(index)
            rows = []
            for r in found:
                row = _describe(r, s.settings)
                row["live"] = live is not None and live.number == r.number
                row["canary"] = canary is not None and canary.release == r.number
                rows.append(row)
    except RagError as exc:
        raise fail(exc.message) from None
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("release", "version", "prompt", "model", "top_k", "follows settings", "", "created by")
    for row in rows:
        m = row["model"]
        label = "extractive" if m["kind"] == "extractive" else f"{m['endpoint']}:{m['name']}"
        mark = "live" if row["live"] else ("canary" if row["canary"] else "")
        table.add_row(
            str(row["number"]),
            str(row["version"]),
            row["prompt"],
            label,
            str(row["settings"]["top_k"]),
            "yes" if row["follows_settings"] else "no",
            mark,
            row["created_by"] or "",
        )
    out.print(table)
