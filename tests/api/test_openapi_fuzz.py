"""schemathesis against the app's own OpenAPI spec, in-process over ASGI, with an admin key.

Every operation gets generated valid and invalid requests (a bounded number of each); the checks
are: no 5xx answer, and responses that conform to the spec (documented status codes, bodies that
match their schemas, declared content types). schemathesis runs the app's real lifespan itself.

(schemathesis's pytest plugin does not run under pytest 9 yet, so the test drives its Hypothesis
strategies directly: ``APIOperation.as_strategy``, one bounded ``@given`` run per operation and mode.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from ingest.embedding import Embedder
from rag.access.keys import KeyStore
from rag.wiring import build_services
from tests.conftest import make_settings

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 4}


@pytest.fixture()
def fuzzed(sample_copy: Path, embedder: Embedder) -> Iterator[tuple[Any, dict[str, str]]]:
    """The app's schema (its lifespan started by schemathesis) and an admin key's headers."""
    settings = make_settings(sample_copy, worker_enabled=False, rate_limit=None)
    db = sa.create_engine(settings.metadata_url)
    headers = {"Authorization": f"Bearer {KeyStore(db).create('fuzz admin', 'admin').secret}"}
    db.dispose()
    app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Setting an index's source folder to a random existing path ("/", say) would make the next
    # document listing walk that whole tree; that route's validation is covered in test_documents.py.
    yield schema.exclude(method="PUT", path_regex=r"/source$"), headers
    from schemathesis.python.asgi import shutdown_lifespans

    shutdown_lifespans()  # schemathesis keeps an app's lifespan alive; close its services now


def test_api_conforms_to_its_spec(fuzzed: tuple[Any, dict[str, str]]) -> None:
    schema, headers = fuzzed
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                derandomize=True,  # the same requests every run: a failure here is reproducible
            )
            def run(case: Any) -> None:
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                statuses[response.status_code] += 1

            try:
                run()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # an operation without parameters has no invalid input
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures, report all
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}")
    assert operations >= 24
    assert not failures, "\n\n".join(failures)
    # The run really exercised the app: successes and refusals of bad input both occurred.
    assert sum(n for code, n in statuses.items() if code < 300) >= 20, statuses
    assert statuses[422] >= 20, statuses
