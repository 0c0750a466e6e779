"""A real S3-protocol server on loopback (moto's server app, as ``moto_server`` runs it), for the S3 source tests.

It counts the object reads it serves, and can be told to fail every listing page after the first
(503, as an overloaded or cut-off endpoint answers), so a listing cut short can be tested for real.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

__all__ = ["S3TestServer"]

ACCESS_KEY = "testing-key-id"
SECRET_KEY = "testing-secret-key"


class S3TestServer:
    """``with S3TestServer() as s3: s3.endpoint ...``; ``s3.client()`` is a boto3 client for setting buckets up."""

    def __init__(self) -> None:
        self._app = DomainDispatcherApplication(create_backend_app)
        self.object_reads = 0
        self.fail_later_pages = False
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        # a short poll interval: shutdown() waits for the serving loop to notice it (0.5 s by default)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="s3-test-server", daemon=True
        )

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if environ["REQUEST_METHOD"] == "GET" and "list-type=2" in query:
            if self.fail_later_pages and "continuation-token" in query:
                start_response("503 Slow Down", [("Content-Type", "application/xml")])
                return [b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"]
        elif environ["REQUEST_METHOD"] == "GET" and environ.get("PATH_INFO", "/").count("/") >= 2:
            self.object_reads += 1
        result: Iterable[bytes] = self._app(environ, start_response)
        return result

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def __enter__(self) -> S3TestServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
