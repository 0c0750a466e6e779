"""``rag feedback`` and ``rag golden``: export feedback, mark it reviewed, turn it into golden-set candidates,
list golden questions gone stale."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.commands.common import err, fail, load_settings, metadata, out
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.feedback import FeedbackStore

__all__ = ["feedback_app", "golden_app"]

feedback_app = typer.Typer(
    help="Feedback on answers: export it, mark negative feedback reviewed.", no_args_is_help=True
)
golden_app = typer.Typer(help="Golden question sets for the promotion gate.", no_args_is_help=True)


@contextmanager
def _feedback_store() -> Iterator[FeedbackStore]:
    """The feedback store on the metadata database only (no engine, no model is loaded)."""
    from indexes.catalog import Catalog
    from rag.feedback import FeedbackStore

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.from_url(settings.metadata_url)
    try:
        yield FeedbackStore(catalog.engine)
    finally:
        catalog.close()


@feedback_app.command("export")
def feedback_export(
    output: Annotated[Path | None, typer.Option("--out", help="Write here instead of standard output.")] = None,
    rating: Annotated[str | None, typer.Option(help="Only 'up' or only 'down'.")] = None,
    reviewed: Annotated[
        bool | None, typer.Option("--reviewed/--unreviewed", help="Only reviewed, or only unreviewed, feedback.")
    ] = None,
) -> None:
    """Feedback as JSON lines, oldest first, each with its answer record (question, answer,
    citations, index version, prompt, model) and its review."""
    if rating not in (None, "up", "down"):
        raise fail("--rating is up or down")
    with _feedback_store() as store:
        lines = [
            json.dumps(f.model_dump(mode="json"), ensure_ascii=False) + "\n"
            for f in store.iter_all(rating=rating, reviewed=reviewed)  # type: ignore[arg-type]
        ]
    if output is None:
        sys.stdout.write("".join(lines))
    else:
        output.write_text("".join(lines), encoding="utf-8")
        err.print(f"wrote {len(lines)} feedback records to {output}")


@feedback_app.command("review")
def feedback_review(
    feedback_id: Annotated[str, typer.Argument(help="The feedback to mark reviewed.")],
    doc_id: Annotated[
        list[str], typer.Option("--doc-id", help="A document (source path, as in golden sets) that answers it.")
    ],
    answer: Annotated[str | None, typer.Option(help="A short correct answer, for the golden set.")] = None,
) -> None:
    """Mark feedback reviewed by naming the documents that answer its question (repeat --doc-id)."""
    try:
        with _feedback_store() as store:
            f = store.review(feedback_id, doc_id, answer)
    except RagError as exc:
        raise fail(exc.message) from None
    out.print(f"reviewed {f.feedback_id} ({f.rating}): {', '.join(f.review_doc_ids or [])}")


@golden_app.command("add-from-feedback")
def golden_add_from_feedback(
    output: Annotated[Path, typer.Option("--out", help="Candidates file (golden JSONL) to append to.")] = Path(
        "golden.candidates.jsonl"
    ),
    golden: Annotated[
        Path | None, typer.Option(help="The current golden set: questions already in it are not proposed again.")
    ] = None,
) -> None:
    """Append reviewed negative feedback to a candidates file in the golden-set format, for a person
    to check before copying lines into the golden set. Re-running adds only new candidates."""
    from rag.evaluation.golden import load_golden
    from rag.feedback import golden_candidate

    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    try:
        known = {norm(q.question) for q in load_golden(golden)} if golden else set()
        existing = load_golden(output) if output.exists() and output.read_text(encoding="utf-8").strip() else []
        with _feedback_store() as store:
            feedback = list(store.iter_all(rating="down", reviewed=True))
    except RagError as exc:
        raise fail(exc.message) from None
    ids = {q.id for q in existing}
    known |= {norm(q.question) for q in existing}
    added = []
    for f in feedback:
        candidate = golden_candidate(f)
        if candidate is None or candidate.id in ids or norm(candidate.question) in known:
            continue
        ids.add(candidate.id)
        known.add(norm(candidate.question))
        added.append(candidate)
    with output.open("a", encoding="utf-8") as fh:
        for c in added:
            fh.write(json.dumps(c.model_dump(mode="json", exclude_none=True), ensure_ascii=False) + "\n")
    out.print(f"added {len(added)} candidates to {output} ({len(feedback)} reviewed negative feedback records)")


@golden_app.command("stale")
def golden_stale(
    index: Annotated[str, typer.Argument(help="Index name.")] = "policies",
    version: Annotated[
        int | None, typer.Option(help="The gated version (default: the newest one gated with an answer diff).")
    ] = None,
) -> None:
    """Golden questions whose expected passage changed in a gated version (against the version live
    then): review them so the golden set does not drift from the documents."""
    from indexes.answer_diffs import AnswerDiffs

    with metadata() as engine:
        store = AnswerDiffs(engine)
        number = version if version is not None else store.latest_version(index)
        diff = store.get(index, number) if number is not None else None
    if number is None or diff is None:
        which = f"{index}@{version}" if version is not None else index
        raise fail(f"no answer diff for {which}: a version is diffed when the gate runs with a live version")
    stale = diff.get("stale_questions", [])
    out.print(f"{index}@{number} against v{diff.get('live_version')}: {len(stale)} golden questions stale for review")
    for s in stale:
        where = "; ".join(" > ".join(p) for p in s.get("sections", [])) or "-"
        out.print(f"{s['id']}  {s['doc']}  {s['reason']}  {where}  {s['question']}", markup=False, highlight=False)
