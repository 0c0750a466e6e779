"""The pages and their static files are served (the browser tests in tests/web drive them)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(("path", "marker"), [("/", "ask.js"), ("/admin", "admin.js"), ("/view", "view.js")])
def test_pages_are_html_with_a_strict_content_policy(client: TestClient, path: str, marker: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f'src="/static/js/{marker}"' in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "<script>" not in r.text  # no inline script: the policy would block it


def test_static_modules_are_served(client: TestClient) -> None:
    for name in ("api.js", "ask.js", "admin.js", "view.js"):
        r = client.get(f"/static/js/{name}")
        assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/../rag/settings.py").status_code == 404
