"""Document routes over the real app: source folder, uploads checked by content, deletes, listing, purge."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Protocol

import pytest
from fastapi.testclient import TestClient
from git import Repo

from rag.wiring import Services
from tests.api.conftest import ClientFactory, KeyHeaders
from tests.conftest import SAMPLE_DIR
from tests.ingest.test_sources_git import ALICE, BOB, commit

BASE = "/v1/indexes/policies"


class Response(Protocol):
    """The part of a test client response these tests read (httpx or httpx2 alike)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


HYBRID = b"# Hybrid work\n\nYou may work from home three days a week after your probation period.\n"


def _services(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def _put(
    client: TestClient,
    doc_id: str,
    filename: str,
    data: bytes,
    owner: str | None = "owner@northwind.example",
    metadata: str | None = None,
) -> Response:
    form: dict[str, Any] = {}
    if owner is not None:
        form["owner"] = owner
    if metadata is not None:
        form["metadata"] = metadata
    return client.put(f"{BASE}/documents/{doc_id}", files={"file": (filename, data)}, data=form)


def _error(r: Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def _statuses(client: TestClient) -> dict[str, str]:
    r = client.get(f"{BASE}/documents")
    assert r.status_code == 200, r.text
    return {d["doc_id"]: d["status"] for d in r.json()["documents"]}


@pytest.mark.parametrize(
    "sample",
    [
        "people/annual-leave.md",
        "finance/expenses.pdf",
        "people/parental-leave.docx",
        "people/onboarding.txt",
        "people/code-of-conduct.html",
    ],
)
def test_each_supported_format_uploads(client: TestClient, sample: str) -> None:
    data = (SAMPLE_DIR / sample).read_bytes()
    filename = sample.rsplit("/", 1)[1]
    r = _put(client, f"uploaded/{filename}", filename, data, metadata='{"audience": ["all"]}')
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["doc_id"] == f"uploaded/{filename}" and body["size"] == len(data)
    assert body["owner"] == "owner@northwind.example" and body["metadata"] == {"audience": ["all"]}
    assert body["suffix"] == "." + filename.rsplit(".", 1)[1]
    again = _put(client, f"uploaded/{filename}", filename, data)
    assert again.status_code == 200 and again.json()["metadata"] == {}  # replaced


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("policy.pdf", b"# This is Markdown\n\nnot a PDF.\n"),
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"),
        ("bundle.zip", b"PK\x05\x06" + b"\x00" * 18),
        ("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("policy.docx", b"PK\x05\x06" + b"\x00" * 18),
    ],
)
def test_unsupported_or_disguised_uploads_are_415(client: TestClient, filename: str, data: bytes) -> None:
    assert _error(_put(client, "bad", filename, data)) == (415, "unsupported_media_type")
    assert _services(client).documents.uploads("policies") == []


def test_a_plain_zip_named_docx_is_415(client: TestClient) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert _error(_put(client, "bad", "policy.docx", buf.getvalue())) == (415, "unsupported_media_type")


def test_uploads_over_the_limit_are_413(client_factory: ClientFactory) -> None:
    client = client_factory(upload_max_bytes=64)
    assert _put(client, "small", "small.md", HYBRID[:64]).status_code == 201
    assert _error(_put(client, "big", "big.md", HYBRID)) == (413, "upload_too_large")
    assert [u.doc_id for u in _services(client).documents.uploads("policies")] == ["small"]


def test_invalid_form_fields_are_422(client: TestClient) -> None:
    assert _error(_put(client, "x", "x.md", HYBRID, metadata="{not json")) == (422, "invalid_input")
    assert _error(_put(client, "x", "x.md", HYBRID, metadata="[1, 2]")) == (422, "invalid_input")
    assert _error(_put(client, "x", "x.md", HYBRID, owner=None)) == (422, "validation_error")
    assert _error(_put(client, "bad..id", "x.md", HYBRID)) == (422, "invalid_input")
    assert _error(_put(client, "sp ace", "x.md", HYBRID)) == (422, "invalid_input")
    assert _error(_put(client, "x", "x.md", b"")) == (422, "invalid_input")
    r = client.put("/v1/indexes/Bad Name/documents/x", files={"file": ("x.md", HYBRID)}, data={"owner": "o"})
    assert r.status_code == 422
    assert _services(client).documents.uploads("policies") == []


def test_source_folder_is_configured_and_must_exist(client: TestClient) -> None:
    unset = client.get(f"{BASE}/source").json()
    assert (unset["index"], unset["kind"], unset["folder"], unset["updated_at"]) == ("policies", None, None, None)
    r = client.put(f"{BASE}/source", json={"folder": str(SAMPLE_DIR)})
    assert r.status_code == 200 and r.json()["folder"] == str(SAMPLE_DIR.resolve())
    assert client.get(f"{BASE}/source").json()["folder"] == str(SAMPLE_DIR.resolve())
    assert _error(client.put(f"{BASE}/source", json={"folder": str(SAMPLE_DIR / "missing")})) == (
        422,
        "source_error",
    )


def test_listing_shows_what_the_next_build_changes(client: TestClient) -> None:
    # the sample copy's live v1 was built from the sample folder: configured, everything is indexed
    assert set(_statuses(client).values()) == {"pending_delete"}  # no source yet: all would go
    client.put(f"{BASE}/source", json={"folder": str(SAMPLE_DIR)})
    statuses = _statuses(client)
    assert len(statuses) == 15 and set(statuses.values()) == {"indexed"}

    assert _put(client, "hybrid-work", "hybrid.md", HYBRID).status_code == 201
    assert _put(client, "NW-SEC-001", "infosec.md", HYBRID).status_code == 201  # replaces a folder doc
    r = client.delete(f"{BASE}/documents/NW-PEO-001")
    assert r.status_code == 200
    assert r.json() == {
        "index": "policies",
        "doc_id": "NW-PEO-001",
        "status": "pending_delete",
        "upload_removed": False,
        "purged": None,
    }
    listing = client.get(f"{BASE}/documents").json()
    assert listing["live_version"] == 1 and listing["source_folder"] == str(SAMPLE_DIR.resolve())
    docs = {d["doc_id"]: d for d in listing["documents"]}
    assert docs["hybrid-work"]["status"] == "pending_upload" and docs["hybrid-work"]["origin"] == "upload"
    assert docs["hybrid-work"]["size"] == len(HYBRID) and docs["hybrid-work"]["owner"] == "owner@northwind.example"
    assert docs["NW-SEC-001"]["status"] == "pending_upload" and docs["NW-SEC-001"]["source"] == "uploads/NW-SEC-001.md"
    assert docs["NW-PEO-001"]["status"] == "pending_delete" and docs["NW-PEO-001"]["title"] == "Annual Leave Policy"
    assert sum(d["status"] == "indexed" for d in docs.values()) == 13

    # the next build takes exactly that; afterwards everything is indexed again
    services = _services(client)
    files, skipped = services.documents.collect("policies")
    m = services.builder.build("policies", files=files, skipped=skipped, promote=True).manifest
    ids = [d.doc_id for d in m.documents]
    assert len(ids) == len(set(ids)) == 15 and "NW-PEO-001" not in ids and "hybrid-work" in ids
    after = _statuses(client)
    assert after.pop("NW-PEO-001") == "deleted"  # still in the folder, kept out of builds
    assert set(after.values()) == {"indexed"} and len(after) == 15


def test_deleting_an_unknown_document_is_404(client: TestClient) -> None:
    assert _error(client.delete(f"{BASE}/documents/no-such-doc")) == (404, "document_not_found")
    assert _error(client.delete(f"{BASE}/documents/no-such-doc?purge=true")) == (404, "document_not_found")
    assert _services(client).documents.tombstones("policies") == set()


def test_deleting_an_upload_drops_it(client: TestClient) -> None:
    _put(client, "hybrid-work", "hybrid.md", HYBRID)
    r = client.delete(f"{BASE}/documents/hybrid-work")
    assert r.status_code == 200
    assert r.json()["status"] == "deleted" and r.json()["upload_removed"] is True
    assert "hybrid-work" not in _statuses(client)
    assert _error(client.get("/v1/indexes/nothing-here/documents")) == (404, "index_not_found")


def test_listing_fails_clearly_when_the_folder_is_gone(client: TestClient, tmp_path: Any) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "a.md").write_bytes(HYBRID)
    client.put(f"{BASE}/source", json={"folder": str(folder)})
    (folder / "a.md").unlink()
    folder.rmdir()
    assert _error(client.get(f"{BASE}/documents")) == (422, "source_error")


def test_purge_removes_the_document_from_every_retained_version(client: TestClient) -> None:
    services = _services(client)
    services.builder.build("policies", SAMPLE_DIR)  # v2 (not live) holds the document too
    r = client.delete(f"{BASE}/documents/NW-PEO-001", params={"purge": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "deleted"
    purged = {int(k): v for k, v in body["purged"].items()}
    assert set(purged) == {1, 2} and all(n > 0 for n in purged.values())
    for version in (1, 2):
        info = services.catalog.get_version("policies", version)
        assert info is not None and info.manifest is not None
        assert "NW-PEO-001" not in {d.doc_id for d in info.manifest.documents}
    assert "NW-PEO-001" in services.documents.tombstones("policies")  # and no later build brings it back
    assert "NW-PEO-001" not in _statuses(client)
    answer = client.post("/v1/ask", json={"question": "How many days of annual leave do I get?"}).json()
    assert all(c.get("doc_id") != "NW-PEO-001" for c in answer.get("citations", [])), json.dumps(answer)[:500]


def test_listing_of_a_git_bound_index_shows_the_repository_documents(
    client: TestClient, key_headers: KeyHeaders, tmp_path: Any
) -> None:
    repo = Repo.init(tmp_path / "repo", initial_branch="main")
    salaries = "---\naccess_groups: [hr]\n---\n# Salaries\n\nSalary bands are reviewed every April.\n"
    leave = (SAMPLE_DIR / "people/annual-leave.md").read_text()
    first = commit(repo, {"people/annual-leave.md": leave, "hr/salaries.md": salaries, "logo.png": "x"}, "import")
    r = client.put(f"{BASE}/source", json={"kind": "git", "url": str(repo.working_tree_dir)})
    assert r.status_code == 200, r.text

    listing = client.get(f"{BASE}/documents").json()
    assert listing["source"] == f"git {repo.working_tree_dir}@main" and listing["source_revision"] == first
    assert listing["source_folder"] is None
    docs = {d["doc_id"]: d for d in listing["documents"]}
    assert docs["NW-PEO-001"]["origin"] == "source" and docs["NW-PEO-001"]["source"] == "people/annual-leave.md"
    assert docs["NW-PEO-001"]["title"] == "Annual Leave Policy"  # as the live version (a folder build) has it
    assert docs["NW-PEO-001"]["revision"] == {
        "commit": first,
        "author": ALICE.name,
        "date": repo.head.commit.authored_datetime.isoformat(),
    }
    assert docs["hr/salaries.md"]["status"] == "pending_build" and docs["hr/salaries.md"]["access_groups"] == ["hr"]
    assert sum(d["status"] == "pending_delete" for d in docs.values()) == 14  # the rest of the live folder build
    owner = key_headers("owner", indexes=["policies"])  # not in hr: the salaries are not listed
    assert "hr/salaries.md" not in {
        d["doc_id"] for d in client.get(f"{BASE}/documents", headers=owner).json()["documents"]
    }

    services = _services(client)
    collected = services.sources.collect("policies")
    services.builder.build(
        "policies",
        files=collected.files,
        source_revision=collected.revision,
        source_label=collected.source,
        promote=True,
    )
    assert set(_statuses(client).values()) == {"indexed"} and len(_statuses(client)) == 2
    second = commit(repo, {"hr/salaries.md": salaries + "\nBands are public.\n"}, "edit", BOB)
    docs = {d["doc_id"]: d for d in client.get(f"{BASE}/documents").json()["documents"]}
    assert (
        docs["hr/salaries.md"]["status"] == "pending_build" and docs["hr/salaries.md"]["revision"]["commit"] == second
    )
    assert docs["NW-PEO-001"]["status"] == "indexed" and docs["NW-PEO-001"]["revision"]["commit"] == first


def test_listing_a_git_source_that_cannot_be_read_is_422(client: TestClient) -> None:
    assert (
        client.put(f"{BASE}/source", json={"kind": "git", "url": "file:///nonexistent/handbook.git"}).status_code == 200
    )
    before = _services(client).catalog.list_versions("policies")
    r = client.get(f"{BASE}/documents")
    assert _error(r) == (422, "source_error") and "git fetch failed" in r.json()["error"]["message"]
    assert _services(client).catalog.list_versions("policies") == before
