"""GET /v1/indexes/{name}/versions/{version}/documents/{doc_id}: a document as a version holds it."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_cited_chunk_lies_in_the_document_text_at_its_offsets(client: TestClient) -> None:
    answer = client.post("/v1/ask", json={"question": "How soon must I submit an expense claim?"}).json()
    citation = next(c for c in answer["citations"] if c["source"].endswith(".pdf"))
    r = client.get(f"/v1/indexes/policies/versions/1/documents/{citation['doc_id']}")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["source"] == citation["source"] and doc["format"] == "pdf" and doc["title"] == citation["title"]
    span = next(c for c in doc["chunks"] if c["chunk_id"] == citation["chunk_id"])
    assert (span["start"], span["end"], span["page"]) == (citation["start"], citation["end"], citation["page"])
    seg = next(s for s in doc["segments"] if s["start"] <= span["start"] and span["end"] <= s["end"])
    passage = seg["text"][span["start"] - seg["start"] : span["end"] - seg["start"]]
    assert citation["quote"] in passage
    starts = [s["start"] for s in doc["segments"]]
    assert starts == sorted(starts) and all(len(s["text"]) == s["end"] - s["start"] for s in doc["segments"])


def test_a_doc_id_with_slashes(client: TestClient) -> None:
    r = client.get("/v1/indexes/policies/versions/1/documents/people/working-hours-and-public-holidays.html")
    assert r.status_code == 200 and r.json()["doc_id"] == "people/working-hours-and-public-holidays.html"


def test_unknown_version_or_document_is_404(client: TestClient) -> None:
    r = client.get("/v1/indexes/policies/versions/7/documents/NW-PEO-001")
    assert r.status_code == 404 and r.json()["error"]["code"] == "version_not_found"
    r = client.get("/v1/indexes/policies/versions/1/documents/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "document_not_found"
    r = client.get("/v1/indexes/Bad!/versions/1/documents/x")
    assert r.status_code == 422
