"""The extractive answer leads with the answering sentence, keeps wrapped sentences whole, never mixes documents."""

from __future__ import annotations

from indexes.types import ChunkRecord, SearchHit
from rag.answering.base import Draft, Evidence
from rag.answering.extractive import ExtractiveAnswerer, SentenceSimilarity, displayed, introduced_end
from rag.citations import check_citations
from rag.sentences import sentence_spans
from tests.rag.test_table_rows import TABLE


def _hit(text: str, n: int, *, doc: str | None = None, similarity: float = 0.6) -> SearchHit:
    chunk = ChunkRecord(
        chunk_id=f"c{n}",
        doc_id=doc or f"d{n}",
        title=f"Doc {n}",
        heading_path=["Doc"],
        page=None,
        start=0,
        end=len(text),
        text=text,
        token_count=10,
        content_hash=f"h{n}",
        source=f"{doc or f'd{n}'}.md",
    )
    return SearchHit(chunk=chunk, score=1 / n, similarity=similarity)


def _by_meaning(phrase: str, judged: list[list[str]], other: float = 0.0) -> SentenceSimilarity:
    """A similarity that records each batch it judges and ranks the texts holding ``phrase`` first."""

    def similarity(question: str, texts: list[str]) -> list[float]:
        judged.append(texts)
        return [1.0 if phrase in t else other for t in texts]

    return similarity


def _answer_by_meaning(text: str, question: str, phrase: str) -> tuple[Draft, list[SearchHit], list[list[str]]]:
    """The answer to ``question`` over one chunk of ``text`` when ``phrase`` is what means the most."""
    judged: list[list[str]] = []
    hits = [_hit(text, 1)]
    draft = ExtractiveAnswerer(similarity=_by_meaning(phrase, judged)).answer(Evidence(question, hits), "")
    return draft, hits, judged


def test_a_hard_wrapped_sentence_is_quoted_whole_with_its_number() -> None:
    text = (
        "## FMLA\n\nAs the spouse of a veteran with a serious illness you may take up to 26 weeks of\n"
        "unpaid FMLA leave in a single 12-month period to care for them.\n"
    )
    draft = ExtractiveAnswerer().answer(
        Evidence("How much unpaid leave can I take to care for my veteran husband?", [_hit(text, 1)]), ""
    )
    assert draft.text.startswith(
        "As the spouse of a veteran with a serious illness you may take up to 26 weeks of unpaid"
    )
    assert "\n" not in draft.text  # shown on one line
    [c] = check_citations(draft, [_hit(text, 1)]).citations
    assert c.quote is not None and "26 weeks of\nunpaid" in c.quote  # the quote stays verbatim


def test_the_answer_never_mixes_documents() -> None:
    hits = [
        _hit("Employees at Acme get 20 days of annual leave per year. Leave is booked in the HR tool.", 1, doc="acme"),
        _hit(
            "Employees at Globex get 25 days of annual leave per year. Annual leave is approved by managers.",
            2,
            doc="globex",
        ),
    ]
    draft = ExtractiveAnswerer(max_sentences=3).answer(
        Evidence("How many days of annual leave do employees get per year?", hits), ""
    )
    markers = {c.n for c in draft.citations}
    assert len(markers) == 1, draft.text


def test_the_lead_sentence_comes_first_and_followers_add_terms() -> None:
    text = (
        "Travel must be booked through the travel desk. "
        "Hotel stays are reimbursed up to $150 per night. "
        "Receipts for hotel stays must be uploaded within 30 days."
    )
    draft = ExtractiveAnswerer(max_sentences=3).answer(
        Evidence("How much is reimbursed per night for a hotel?", [_hit(text, 1)]), ""
    )
    assert draft.text.startswith("Hotel stays are reimbursed up to $150 per night. [1]")


def _by_words(question: str, texts: list[str]) -> list[float]:
    """A stand-in meaning signal for unit tests: the share of the question's words in the text."""
    asked = {w.strip("?.,").lower() for w in question.split()}
    return [len(asked & {w.strip("?.,:").lower() for w in t.split()}) / len(asked) for t in texts]


def test_by_meaning_the_lead_is_quoted_with_the_sentence_before_it() -> None:
    text = (
        "Inactive repositories are archived automatically by the operations team. The current default is "
        "90 days. Archived repositories can be restored on request by any administrator."
    )
    draft, hits, seen = _answer_by_meaning(text, "After how long are inactive repositories archived?", "90 days")
    assert draft.text.startswith(
        "Inactive repositories are archived automatically by the operations team. The current default is 90 days. [1]"
    )
    [c] = check_citations(draft, hits).citations
    assert c.quote is not None and c.quote in text  # a verbatim slice of the chunk
    assert all(t.startswith("Doc: ") for t in seen[0])  # compared with its heading path


def test_two_list_items_quoted_together_are_shown_without_the_bullet_between_them() -> None:
    text = (
        "# Remote work\n\n- We work asynchronously across time zones and continents.\n"
        "  - You choose when you want to work. (Most people work normal hours for their time zone.)\n"
        "  - You don't need to ask permission or tell anyone if you need to step out.\n"
    )
    draft, hits, _ = _answer_by_meaning(text, "Do I need permission to step out for an errand?", "step out")
    assert draft.text.startswith(
        "(Most people work normal hours for their time zone.) You don't need to ask permission or tell anyone"
    ), draft.text
    assert " - " not in draft.text
    [c] = check_citations(draft, hits).citations
    assert c.quote is not None and "time zone.)\n  - You don't" in c.quote  # the quote stays verbatim
    assert displayed("a teammate when:\n- the name is long\n- you have a nickname") == (
        "a teammate when: the name is long; you have a nickname"  # items without a full stop stay apart
    )
    assert displayed("2 - 3 = -1 and\n-5 is negative") == "2 - 3 = -1 and -5 is negative"  # no bullet there


def test_without_meaning_only_the_sentence_is_quoted() -> None:
    text = "Inactive repositories are archived automatically. The current default is 90 days of inactivity."
    draft = ExtractiveAnswerer().answer(Evidence("How many days of inactivity?", [_hit(text, 1)]), "")
    assert draft.text.startswith("The current default is 90 days of inactivity. [1]")


def test_words_that_only_name_the_organisation_do_not_choose_the_sentence() -> None:
    text = (
        "Globex teammates love Globex and its culture. "
        "New hires serve a probation of six months with weekly check-ins and reviews."
    )
    question = "Is there a probation period at Globex?"
    hits = [_hit(text, 1)]
    unfocused = ExtractiveAnswerer(max_sentences=1).answer(Evidence(question, hits), "")
    focused = ExtractiveAnswerer(max_sentences=1).answer(
        Evidence(question, hits, focus="Is there a probation period at"), ""
    )
    assert unfocused.text.startswith("Globex teammates love Globex")  # the name alone wins without a focus
    assert focused.text.startswith("New hires serve a probation of six months")


def test_a_sentence_sharing_no_word_with_the_question_is_still_judged_by_meaning() -> None:
    """The answering sentence is a paraphrase: twenty sentences share more question words, but every
    sentence of the evidence is judged by meaning, so the paraphrase leads the answer."""
    filler = " ".join(f"Leave requests for item {i} go through the leave request form." for i in range(20))
    text = f"{filler} Time away needs approval at least three business days beforehand."
    judged: list[list[str]] = []
    similarity = _by_meaning("three business days", judged, other=0.2)
    hits = [_hit(text, 1)]
    question = "How far ahead must I file a leave request?"
    draft = ExtractiveAnswerer(similarity=similarity).answer(Evidence(question, hits), "")
    assert "at least three business days beforehand" in draft.text.split("[1]")[0]
    assert len(judged[0]) == 21  # every sentence, not only the best few by words
    few = ExtractiveAnswerer(similarity=similarity, semantic_candidates=8).answer(Evidence(question, hits), "")
    assert "three business days" not in few.text  # with 8, the cheap score drops the paraphrase


def test_a_sentence_that_introduces_a_list_is_quoted_with_its_items() -> None:
    text = (
        "# Leaving\n\nAs you leave, you are encouraged to join the alumni channel.\n"
        "Once you have left the team:\n\n"
        "- Your chat account is converted to a single-channel guest account.\n"
        "- Your laptop must be returned within five business days.\n"
        "\nQuestions about leaving go to the People team.\n"
    )
    draft, hits, _ = _answer_by_meaning(text, "What happens to my chat account after I leave?", "Once you have left")
    lead = draft.text.split(" [1]")[0]
    assert lead.endswith(
        "Once you have left the team: Your chat account is converted to a single-channel guest account. "
        "Your laptop must be returned within five business days."
    ), draft.text
    assert "People team" not in lead  # the paragraph after the list is not part of what was introduced
    [c] = check_citations(draft, hits).citations
    assert c.quote is not None and c.quote in text and c.quote.endswith("five business days.")


def test_a_follower_that_introduces_what_its_chunk_does_not_hold_is_left_out() -> None:
    text = (
        "Chat accounts of people who leave are converted to guest accounts by the admins. "
        "For chat accounts of contractors who leave the team, the admins do the following:"
    )
    draft = ExtractiveAnswerer(max_sentences=3).answer(
        Evidence("What happens to chat accounts of people who leave?", [_hit(text, 1)]), ""
    )
    assert draft.text.startswith("Chat accounts of people who leave are converted"), draft.text
    assert "the following:" not in draft.text
    assert not draft.text.rstrip(" [1]").endswith(":")


def test_what_a_colon_introduces_ends_at_the_list_a_heading_or_a_table() -> None:
    def end_of(text: str, intro: str, **limits: int) -> str | None:
        spans = sentence_spans(text)
        [position] = [i for i, s in enumerate(spans) if s.text.startswith(intro)]
        end = introduced_end(text, spans, position, **limits)
        return None if end is None else text[spans[position].start : end]

    items = "Book through:\n- the travel desk portal\n- the phone line\n- the mobile app\n\nAfter that, wait."
    assert (
        end_of(items, "Book through") == "Book through:\n- the travel desk portal\n- the phone line\n- the mobile app"
    )
    assert end_of(items, "Book through", max_items=2) == "Book through:\n- the travel desk portal\n- the phone line"
    assert end_of(items, "Book through", max_chars=30) == "Book through:\n- the travel desk portal"  # the first always
    assert end_of("It is extended provided that:\n\nall four agree. Then more.", "It is") == (
        "It is extended provided that:\n\nall four agree."  # prose: the one sentence that completes it
    )
    assert end_of("Contact us through:\n\n## Other topic\n\nText here.", "Contact") is None
    assert end_of("Contact us through:\n\n| Desk | Phone |\n| --- | --- |\n| IT | 555 |", "Contact") is None
    assert end_of("Contact us through the desk. Then wait.", "Contact") is None  # no colon: nothing introduced
    assert end_of("Contact us through the following:", "Contact") is None  # nothing follows it


def test_a_quoted_list_reads_without_its_quote_marks_and_bullets() -> None:
    text = (
        "Zoom guidance:\n\n> - All Zoom meetings hosted by GSA require a meeting password.\n"
        "> - Do not share links to Zoom meetings via publicly available\n>   social media outlets.\n"
    )
    draft, hits, _ = _answer_by_meaning(text, "Can I post a Zoom link on social media?", "social media outlets")
    assert draft.text.startswith(
        "All Zoom meetings hosted by GSA require a meeting password. Do not share links to Zoom meetings "
        "via publicly available social media outlets. [1]"
    ), draft.text
    [c] = check_citations(draft, hits).citations
    assert c.quote is not None and c.quote in text and ">   social" in c.quote  # verbatim


def test_an_answer_from_a_table_names_the_columns_and_never_quotes_the_header() -> None:
    def similarity(question: str, texts: list[str]) -> list[float]:
        return [1.0 if "pay stubs" in t else 0.9 if "What it is for" in t else 0.0 for t in texts]

    hits = [_hit(TABLE, 1)]
    draft = ExtractiveAnswerer(similarity=similarity).answer(Evidence("Where do I see my pay stubs?", hits), "")
    assert "System: Employee Express; What it is for: To see your pay stubs and change withholdings." in draft.text
    assert "|" not in draft.text, draft.text
    assert not draft.text.startswith("System: System")  # the header row is not a sentence of the answer
    [c] = check_citations(draft, hits).citations
    assert c.quote is not None and c.quote in TABLE and c.quote.endswith("change withholdings |")  # verbatim
