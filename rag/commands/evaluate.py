"""``rag eval``: score retrieval on a BEIR or spans folder, print a Markdown table, write JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rag.commands.common import load_settings
from rag.errors import RagError
from rag.progress import progress_bar

__all__ = ["eval_command"]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def eval_command(
    dataset: Annotated[
        Path, typer.Argument(help="A BEIR folder, a documents-plus-spans folder, or a question set (questions.jsonl).")
    ],
    corpus: Annotated[
        Path | None,
        typer.Option(help="For a question set: the document folder its gold paths are relative to."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Score this version (name or name@N) instead of building the data set.")
    ] = None,
    index: Annotated[str | None, typer.Option(help="Index the data set is built into (default eval-<folder>).")] = None,
    layout: Annotated[str | None, typer.Option(help="beir or spans (default: detected).")] = None,
    settings: Annotated[
        str | None, typer.Option("--settings", help="Retrieval settings of the base run, e.g. mode=dense.")
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(help="Another run: a version (name@N) or settings (mode=dense,fusion=dbsf,weights=1:0.5)."),
    ] = None,
    queries: Annotated[int | None, typer.Option(min=1, help="Score only the first N judged queries.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    markdown_out: Annotated[Path | None, typer.Option("--markdown", help="Write the Markdown table here.")] = None,
    per_query: Annotated[bool, typer.Option(help="Keep every query's scores in the JSON.")] = False,
) -> None:
    """Build (or pick) a version, run the queries through the /v1/ask retrieval path, report the metrics.

    A question set (questions with a gold file and an answer phrase, or marked unanswerable) is asked
    end to end instead: retrieval, the answer, and refusals are scored.
    """
    from rag.evaluation.question_set import is_question_set

    if is_question_set(dataset):
        _question_set_command(
            dataset, corpus, version, index, settings, compare, queries, json_out, markdown_out, per_query
        )
        return
    from indexes.refs import IndexRef
    from rag.evaluation.datasets import load_dataset
    from rag.evaluation.report import markdown_table
    from rag.evaluation.runner import evaluate
    from rag.evaluation.session import Run, eval_index_name, parse_setting_changes, plan_runs, prepare_version
    from rag.wiring import build_services

    if layout not in (None, "beir", "spans"):
        err.print(f"[bold red]error:[/] layout must be beir or spans, not {layout!r}")
        raise typer.Exit(1)
    try:
        data = load_dataset(dataset, layout, limit=queries)  # type: ignore[arg-type]
        base_changes = parse_setting_changes(settings) if settings else {}
        for value in compare or []:  # check every --compare before anything is built
            parse_setting_changes(value) if "=" in value else IndexRef.parse(value)
        config = load_settings()
        services = build_services(config)
    except RagError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    try:
        with progress_bar(err) as bar:
            if version:
                target = services.registry.resolve(IndexRef.parse(version))
            else:
                task = bar.add_task("building the data set", total=None)
                target, built = prepare_version(
                    services,
                    data,
                    index or eval_index_name(data),
                    progress=lambda stage, done, total: bar.update(
                        task, description=f"building: {stage}", completed=done, total=total
                    ),
                )
                bar.update(task, description=f"{'built' if built else 'reusing'} {target.index}@{target.version}")
            retriever = services.assistant.retriever
            base = Run(target, retriever.configured(**base_changes) if base_changes else retriever)
            runs = plan_runs(services, base, compare or [])
            results = []
            for n, run in enumerate(runs, start=1):
                task = bar.add_task(f"run {n}/{len(runs)}: queries", total=len(data.queries))
                results.append(
                    evaluate(
                        run.retriever,
                        run.version,
                        data,
                        refusal_threshold=config.refusal_threshold,
                        progress=lambda done, total, t=task: bar.update(t, completed=done, total=total),  # type: ignore[misc]
                        keep_per_query=per_query,
                    )
                )
    except RagError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    table = markdown_table(results)
    out.print(table, markup=False, highlight=False)
    if markdown_out:
        markdown_out.write_text(table)
    if json_out:
        json_out.write_text(json.dumps([r.model_dump() for r in results], indent=2) + "\n")


def _question_set_command(
    dataset: Path,
    corpus: Path | None,
    version: str | None,
    index: str | None,
    settings: str | None,
    compare: list[str] | None,
    queries: int | None,
    json_out: Path | None,
    markdown_out: Path | None,
    per_query: bool,
) -> None:
    """``rag eval`` for a question set: build the corpus once (reused when unchanged), ask, score."""
    import copy

    from indexes.refs import IndexRef
    from rag.evaluation.question_report import question_table
    from rag.evaluation.question_runner import score_questions
    from rag.evaluation.question_set import load_question_set
    from rag.evaluation.session import parse_setting_changes, prepare_corpus_version
    from rag.wiring import build_services, calibration_sets

    if version is None and corpus is None:
        err.print(
            "[bold red]error:[/] a question set needs --corpus FOLDER (the documents its gold paths are relative to) "
            "or --version NAME@N (a version already built from them)"
        )
        raise typer.Exit(1)
    try:
        qset = load_question_set(dataset, limit=queries)
        base_changes = parse_setting_changes(settings) if settings else {}
        for value in compare or []:
            parse_setting_changes(value) if "=" in value else IndexRef.parse(value)
        base = load_settings()
        name = index or (check_eval_name(corpus) if corpus is not None else "")
        if version is None:
            # a corpus built here calibrates its refusals on the question set itself, unless the
            # index has calibration questions of its own
            base = base.model_copy(update={"calibration_sets": {name: dataset, **base.calibration_sets}})
        services = build_services(base)
    except RagError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    try:
        with progress_bar(err) as bar:
            if version:
                target = services.registry.resolve(IndexRef.parse(version))
            else:
                assert corpus is not None
                task = bar.add_task(f"building {corpus.name}", total=None)
                target, built = prepare_corpus_version(
                    services,
                    corpus,
                    name,
                    calibration=calibration_sets(services.settings).get(name),
                    progress=lambda stage, done, total: bar.update(
                        task, description=f"building: {stage}", completed=done, total=total
                    ),
                )
                bar.update(task, description=f"{'built' if built else 'reusing'} {target.index}@{target.version}")
            runs = [(target, base_changes)]
            for value in compare or []:
                if "=" in value:
                    runs.append((target, {**base_changes, **parse_setting_changes(value)}))
                else:
                    runs.append((services.registry.resolve(IndexRef.parse(value)), base_changes))
            results = []
            for n, (run_version, changes) in enumerate(runs, start=1):
                assistant = copy.copy(services.assistant)
                if changes:
                    assistant.retriever = assistant.retriever.configured(**changes)
                task = bar.add_task(f"run {n}/{len(runs)}: questions", total=len(qset.questions))
                results.append(
                    score_questions(
                        assistant,
                        run_version,
                        qset,
                        progress=lambda done, total, t=task: bar.update(t, completed=done, total=total),  # type: ignore[misc]
                        keep_per_query=per_query,
                        max_false_refusal=services.settings.max_false_refusal,
                    )
                )
    except RagError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.close()
    table = question_table(results)
    out.print(table, markup=False, highlight=False)
    if markdown_out:
        markdown_out.write_text(table)
    if json_out:
        json_out.write_text(json.dumps([r.model_dump() for r in results], indent=2) + "\n")


def check_eval_name(corpus: Path) -> str:
    """``eval-`` plus the corpus folder's name in index-name characters."""
    import re

    from indexes.refs import check_index_name

    slug = re.sub(r"[^a-z0-9_-]+", "-", corpus.resolve().name.lower()).strip("-_") or "corpus"
    return check_index_name(f"eval-{slug}"[:63])
