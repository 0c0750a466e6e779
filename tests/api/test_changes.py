"""What changed, over the real app: a document's sections between versions (by number or date), an
index's changes since a date, and access groups (a document the caller cannot see is never shown)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import create_key_headers, services_of
from tests.conftest import SAMPLE_DIR

BASE = "/v1/indexes/policies"
LEAVE = "NW-PEO-001"  # people/annual-leave.md
SECRET = "Retention bonuses for the board are set by the remuneration committee."


def _edited_copy(tmp_path: Path) -> tuple[Path, str]:
    """The sample with annual leave edited (one sentence, one section removed, one added) and the
    passwords policy moved to the ``security-team`` group with a new section."""
    src = tmp_path / "handbook-v2"
    shutil.copytree(SAMPLE_DIR, src)
    leave = src / "people" / "annual-leave.md"
    text = leave.read_text()
    start = text.index("### 2.2 Team blackout periods")
    end = text.index("### 2.3 Cancelling or changing leave")
    text = text[:start] + text[end:]
    text = text.replace("28 working days", "30 working days")
    text += "\n\n## 9. Sabbaticals\n\nUnpaid sabbaticals of up to three months can be agreed with your manager.\n"
    leave.write_text(text)
    passwords = src / "security" / "passwords-and-mfa.md"
    body = passwords.read_text()
    assert body.startswith("---\n")
    passwords.write_text("---\naccess_groups: [security-team]\n" + body[4:] + f"\n\n## Board matters\n\n{SECRET}\n")
    doc_id = next(line.split(":", 1)[1].strip() for line in body.splitlines() if line.startswith("doc_id:"))
    return src, doc_id


def test_what_changed_by_section_and_since_a_date(client: TestClient, tmp_path: Path) -> None:
    services = services_of(client)
    src, passwords_id = _edited_copy(tmp_path)
    services.builder.build("policies", src)  # v2
    before_v2 = datetime.now(UTC)
    assert client.post(f"{BASE}/promote", json={"version": 2}).status_code == 200

    r = client.get(f"{BASE}/documents/{LEAVE}/changes", params={"from": 1, "to": 2})
    assert r.status_code == 200, r.text
    d = r.json()
    assert (d["status"], d["from_version"], d["to_version"], d["owner"]) == (
        "changed",
        1,
        2,
        "people@northwind.example",
    )
    changes = {tuple(s["heading_path"])[-1]: s for s in d["sections"]}
    assert changes["1.1 Standard entitlement"]["change"] == "changed"
    pairs = changes["1.1 Standard entitlement"]["sentences"]
    assert len(pairs) == 1 and "28 working days" in pairs[0]["before"] and "30 working days" in pairs[0]["after"]
    assert changes["2.2 Team blackout periods"]["change"] == "removed"
    assert changes["9. Sabbaticals"]["change"] == "added"
    assert len(changes) == 3

    # defaults: to = the live version, from = the one live before it; dates name the version live then
    assert client.get(f"{BASE}/documents/{LEAVE}/changes").json()["sections"] == d["sections"]
    by_date = client.get(
        f"{BASE}/documents/{LEAVE}/changes",
        params={"from": before_v2.isoformat(), "to": datetime.now(UTC).isoformat()},
    )
    assert by_date.status_code == 200, by_date.text
    assert (by_date.json()["from_version"], by_date.json()["to_version"]) == (1, 2)

    since = (before_v2 - timedelta(minutes=1)).isoformat()
    listing = client.get(f"{BASE}/changes", params={"since": since})
    assert listing.status_code == 200, listing.text
    docs = {c["doc_id"]: c for c in listing.json()["changes"]}
    assert set(docs) == {LEAVE, passwords_id}
    assert docs[LEAVE]["version"] == 2 and docs[LEAVE]["owner"] == "people@northwind.example"
    assert {s["heading_path"][-1] for s in docs[LEAVE]["sections"]} == set(changes)
    later = client.get(f"{BASE}/changes", params={"since": datetime.now(UTC).isoformat()}).json()
    assert later["changes"] == []

    # an employee outside `security-team` sees the passwords document as gone from v2 (v1, which
    # everyone could read, held it), never one of its v2 sections or headings
    employee = create_key_headers(client, "employee")
    seen = client.get(f"{BASE}/changes", params={"since": since}, headers=employee)
    statuses = {c["doc_id"]: c["status"] for c in seen.json()["changes"]}
    assert statuses == {LEAVE: "changed", passwords_id: "removed"}
    assert "Board matters" not in seen.text and SECRET not in seen.text
    # v1 (visible to everyone) still holds it: they see it as removed, with none of v2's sections
    hidden = client.get(f"{BASE}/documents/{passwords_id}/changes", params={"from": 1, "to": 2}, headers=employee)
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["status"] == "removed" and "Board matters" not in hidden.text and SECRET not in hidden.text
    only_v2 = client.get(f"{BASE}/documents/{passwords_id}/changes", params={"from": 2, "to": 2}, headers=employee)
    assert (only_v2.status_code, only_v2.json()["error"]["code"]) == (404, "document_not_found")
    # a member of the group sees the new section
    member = create_key_headers(client, "employee", groups=["security-team"])
    shown = client.get(f"{BASE}/documents/{passwords_id}/changes", params={"from": 1, "to": 2}, headers=member)
    assert any(s["heading_path"][-1] == "Board matters" and s["change"] == "added" for s in shown.json()["sections"])


def test_what_changed_bad_input(client: TestClient) -> None:
    r = client.get(f"{BASE}/documents/{LEAVE}/changes", params={"from": "last week", "to": 1})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_as_of")
    r = client.get(f"{BASE}/documents/{LEAVE}/changes", params={"from": 9, "to": 1})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "version_not_found")
    r = client.get(f"{BASE}/documents/{LEAVE}/changes")  # only v1 was ever live: nothing before it
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")
    r = client.get(f"{BASE}/documents/{LEAVE}/changes", params={"from": "2001-01-01", "to": 1})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "no_version_live_then")
    r = client.get("/v1/indexes/handbook/changes", params={"since": "2026-01-01"})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "index_not_found")
    r = client.get(f"{BASE}/changes")
    assert r.status_code == 422
