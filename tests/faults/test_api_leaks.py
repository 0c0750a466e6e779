"""Leaks at the API edge (issue 10, items 1 and 3): feedback that returned whole answer records to
any key, and uploads that revealed (and replaced) documents the caller cannot see."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import create_key_headers, services_of
from tests.faults import edge_apps

edge_clients, acl_edge = edge_apps.edge_clients, edge_apps.acl_edge  # fixtures

SECRET_QUESTION = "How big is the quillfeather bonus pool?"
FEEDBACK_FIELDS = {"feedback_id", "answer_id", "created_at", "rating", "comment"}


def _feedback(client: TestClient, answer_id: str, headers: dict[str, str]) -> tuple[int, dict[str, object], str]:
    r = client.post(f"/v1/answers/{answer_id}/feedback", json={"rating": "up", "comment": "ok"}, headers=headers)
    return r.status_code, r.json(), r.text


def test_feedback_is_taken_only_from_the_receiver_or_an_admin_and_returns_no_answer(acl_edge: TestClient) -> None:
    hr = create_key_headers(acl_edge, "employee", groups=["hr"], name="hr-employee")
    other = create_key_headers(acl_edge, "employee", name="other-employee")
    owner = create_key_headers(acl_edge, "owner", indexes=["acl"], name="acl-owner")
    answer = acl_edge.post("/v1/ask", json={"question": SECRET_QUESTION, "index": "acl"}, headers=hr).json()
    assert "quillfeather" in answer["answer"], answer  # the hr key may read it

    for stranger in (other, owner):
        status, body, text = _feedback(acl_edge, answer["answer_id"], stranger)
        assert status == 404 and body["error"]["code"] == "answer_not_found"  # type: ignore[index]
        assert "quillfeather" not in text

    status, body, text = _feedback(acl_edge, answer["answer_id"], hr)
    assert status == 201 and set(body) == FEEDBACK_FIELDS and body["answer_id"] == answer["answer_id"]
    assert "quillfeather" not in text and SECRET_QUESTION not in text
    status, body, _ = _feedback(acl_edge, answer["answer_id"], {})  # the client's admin key
    assert status == 201 and set(body) == FEEDBACK_FIELDS
    assert services_of(acl_edge).feedback.count() == 2


def test_feedback_on_a_streamed_answer_is_taken_from_its_receiver_only(acl_edge: TestClient) -> None:
    hr = create_key_headers(acl_edge, "employee", groups=["hr"], name="hr-employee")
    other = create_key_headers(acl_edge, "employee", groups=["hr"], name="second-hr-employee")
    with acl_edge.stream(
        "POST", "/v1/ask", json={"question": SECRET_QUESTION, "index": "acl", "stream": True}, headers=hr
    ) as r:
        text = "".join(r.iter_text())
    answer_id = services_of(acl_edge).audit.entries(action="ask", limit=1)[0].target
    assert answer_id is not None and answer_id in text
    assert _feedback(acl_edge, answer_id, other)[0] == 404
    assert _feedback(acl_edge, answer_id, hr)[0] == 201


def _upload(client: TestClient, doc_id: str, headers: dict[str, str], metadata: str | None = None) -> tuple[int, str]:
    form = {"owner": "mallory"} | ({"metadata": metadata} if metadata is not None else {})
    r = client.put(
        f"/v1/indexes/acl/documents/{doc_id}",
        files={"file": (doc_id, b"# Notice\n\nEverything here is public now.\n", "text/markdown")},
        data=form,
        headers=headers,
    )
    return r.status_code, r.json()["error"]["code"] if r.status_code >= 400 else ""


def test_an_upload_over_a_hidden_document_is_404_like_delete_and_stores_nothing(acl_edge: TestClient) -> None:
    owner = create_key_headers(acl_edge, "owner", indexes=["acl"], name="acl-owner")
    documents = services_of(acl_edge).documents
    # pay.md is built (hr only): the owner outside hr learns nothing and replaces nothing, twice.
    for _ in range(2):
        assert _upload(acl_edge, "pay.md", owner) == (404, "document_not_found")
        assert acl_edge.delete("/v1/indexes/acl/documents/pay.md", headers=owner).status_code == 404
    assert documents.get("acl", "pay.md") is None
    # The same for a document only in the source folder, not built yet.
    source = documents.get_source("acl")
    assert source is not None
    (source.folder / "board.md").write_text("---\naccess_groups: [board]\n---\n# Board\n\nBoard minutes.\n")
    assert _upload(acl_edge, "board.md", owner) == (404, "document_not_found")
    assert documents.get("acl", "board.md") is None
    # A new doc_id, or a document the owner can see, is uploaded as before.
    assert _upload(acl_edge, "notice.md", owner) == (201, "")
    assert _upload(acl_edge, "open.md", owner) == (201, "")


def test_an_upload_never_widens_a_documents_groups_for_a_caller_outside_them(acl_edge: TestClient) -> None:
    hr_owner = create_key_headers(acl_edge, "owner", groups=["hr"], indexes=["acl"], name="hr-owner")
    documents = services_of(acl_edge).documents
    # both.md is hr + legal: an hr-only owner may not turn it into an everyone document ...
    assert _upload(acl_edge, "both.md", hr_owner) == (403, "forbidden")
    assert _upload(acl_edge, "both.md", hr_owner, '{"access_groups": ["hr", "everyone"]}') == (403, "forbidden")
    assert documents.get("acl", "both.md") is None
    # ... but may replace it keeping (or narrowing to) groups it already had.
    assert _upload(acl_edge, "both.md", hr_owner, '{"access_groups": ["hr"]}') == (201, "")
    # An admin may regroup anything; an owner in every group involved may too.
    assert _upload(acl_edge, "pay.md", {}) == (201, "")
    both = create_key_headers(acl_edge, "owner", groups=["hr", "legal"], indexes=["acl"], name="hr-legal-owner")
    assert _upload(acl_edge, "both.md", both) == (200, "")  # replaces the hr-only upload above
