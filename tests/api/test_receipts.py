"""Receipts: each quote is reproduced from the version's stored text by its offsets; only the caller who
received the answer (or an admin) may read it."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from tests.api.conftest import create_key_headers, services_of

QUESTIONS = ["How many days of annual leave do I get?", "How long must my password be?"]


def _document_text(client: TestClient, url: str, headers: dict[str, str]) -> str:
    """The normalized text as the version serves it, its segments laid out at their offsets."""
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.text
    segments = r.json()["segments"]
    text = [" "] * max(s["end"] for s in segments)
    for s in segments:
        text[s["start"] : s["end"]] = list(s["text"])
    return "".join(text)


def test_a_receipt_reproduces_every_quote_from_the_stored_text(client: TestClient) -> None:
    services = services_of(client)
    employee = create_key_headers(client, "employee", name="emma")
    other = create_key_headers(client, "employee", name="otto")
    manifest = services.catalog.get_version("policies", 1).manifest  # type: ignore[union-attr]
    assert manifest is not None
    hashes = {d.doc_id: d.content_hash for d in manifest.documents}
    checked = 0
    for question in QUESTIONS:
        asked = client.post("/v1/ask", json={"question": question}, headers=employee)
        assert asked.status_code == 200, asked.text
        answer = asked.json()
        assert answer["citations"], answer
        r = client.get(f"/v1/answers/{answer['answer_id']}/receipt", headers=employee)
        assert r.status_code == 200, r.text
        receipt = r.json()
        assert (receipt["index"]["version"], receipt["version"]["number"], receipt["version"]["state"]) == (
            1,
            1,
            "ready",
        )
        assert receipt["model"] == answer["model"] and receipt["answer"] == answer["answer"]
        prompt = receipt["prompt"]
        assert prompt["name"] == answer["prompt"]["name"] and prompt["version"] == answer["prompt"]["version"]
        assert prompt["sha256"] == hashlib.sha256(prompt["text"].encode()).hexdigest()
        retrieval = receipt["retrieval"]
        settings = services.settings
        assert (retrieval["mode"], retrieval["fusion"], retrieval["prefetch_limit"]) == (
            settings.retrieval_mode,
            settings.fusion,
            settings.prefetch_limit,
        )
        assert retrieval["refusal"]["method"]
        assert len(receipt["citations"]) == len(answer["citations"])
        for c in receipt["citations"]:
            assert c["document_hash"] == hashes[c["doc_id"]]
            # the text the build kept is the one the hash names, and the quote is where it says
            kept = services.builder.texts.get(c["document_hash"])
            assert kept is not None and kept[c["quote_start"] : c["quote_end"]] == c["quote"]
            title = next(d.title for d in manifest.documents if d.doc_id == c["doc_id"])
            assert hashlib.sha256(f"{title}\x00{kept}".encode()).hexdigest() == c["document_hash"]
            text = _document_text(client, c["text_url"], employee)
            assert c["quote_start"] is not None, c
            assert text[c["quote_start"] : c["quote_end"]] == c["quote"]
            assert c["chunk_start"] <= c["quote_start"] < c["quote_end"] <= c["chunk_end"]
            checked += 1

        # someone else's answer is as unknown as a missing one; admins read any
        r = client.get(f"/v1/answers/{answer['answer_id']}/receipt", headers=other)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "answer_not_found")
        assert client.get(f"/v1/answers/{answer['answer_id']}/receipt").status_code == 200
    assert checked >= 2
    r = client.get("/v1/answers/no-such-answer/receipt")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "answer_not_found")
