"""A local OpenAI-compatible chat-completions server for the signup tests.

Its answer is scripted by keywords in the company name, read from the delimited JSON block of
the request's user message exactly as the model would see it:

==================  ==========================================================================
keyword             answer
==================  ==========================================================================
``approve``         SaaS business, confidence 0.95 (also the default)
``moderate``        SaaS business, confidence 0.72
``unsure``          SaaS business, confidence 0.40
``redflag``         SaaS business, confidence 0.95, one red flag
``notbiz-high``     not a business, confidence 0.95
``notbiz-low``      not a business, confidence 0.70
``agency``          a business that is not a SaaS vendor, confidence 0.92
``garbled-once``    invalid JSON on the first call, then an approve-grade answer
``garbled``         an answer that breaks the schema, every time
``error500``        HTTP 500
``flaky``           HTTP 500 on the first call, then an approve-grade answer
``slow``            sleeps ``slow_seconds`` before answering (longer than the client timeout)
``hold``            waits until ``release`` is set, then answers approve-grade
==================  ==========================================================================
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any

from signup.llm import DATA_END, DATA_START
from tests.http_servers import local_server, send_json, serve_in_background, stop_server


def classification(
    *,
    business: bool = True,
    saas: bool = True,
    confidence: float = 0.95,
    red_flags: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "industry": "Software" if business else "Unknown",
        "tech_stack": ["Python", "PostgreSQL"],
        "integration_needs": ["Salesforce", "Slack"],
        "is_business": business,
        "is_saas_vendor": saas,
        "red_flags": red_flags or [],
        "confidence": confidence,
        "reasoning": "Scripted answer of the test server.",
    }


SCRIPTS: list[tuple[str, dict[str, Any]]] = [
    ("notbiz-high", classification(business=False, saas=False, confidence=0.95)),
    ("notbiz-low", classification(business=False, saas=False, confidence=0.70)),
    ("moderate", classification(confidence=0.72)),
    ("unsure", classification(confidence=0.40)),
    ("redflag", classification(red_flags=["website and email domain differ"])),
    ("agency", classification(saas=False, confidence=0.92)),
]


class FakeOpenAI:
    """``latency_seconds``: how long every answer takes, like a real model's (0: at once)."""

    def __init__(self, *, slow_seconds: float = 3.0, latency_seconds: float = 0.0) -> None:
        self.slow_seconds = slow_seconds
        self.latency_seconds = latency_seconds
        self.calls: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.holding = threading.Event()
        self._lock = threading.Lock()
        self.server = local_server(self._handler())
        # A thread-pool worker opens dozens of connections at once: a longer accept backlog.
        self.server.socket.listen(128)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        serve_in_background(self.server)
        return self

    def stop(self) -> None:
        self.release.set()
        stop_server(self.server)

    def calls_for(self, company: str) -> int:
        with self._lock:
            return self.calls[company]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                user = next(m["content"] for m in body["messages"] if m["role"] == "user")
                block = user.split(DATA_START, 1)[1].split(DATA_END, 1)[0]
                data = json.loads(block)
                company = str(data.get("company_name", ""))
                with fake._lock:
                    fake.calls[company] += 1
                    call = fake.calls[company]
                    fake.requests.append(
                        {"body": body, "data": data, "headers": dict(self.headers)}
                    )
                fake.respond(self, company.lower(), call, body)

        return Handler

    def respond(
        self, handler: BaseHTTPRequestHandler, company: str, call: int, body: dict[str, Any]
    ) -> None:
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        if "error500" in company or ("flaky" in company and call == 1):
            send_json(handler, 500, {"error": {"message": "scripted failure", "type": "server"}})
            return
        if "slow" in company:
            time.sleep(self.slow_seconds)
        if "hold" in company:
            self.holding.set()
            self.release.wait(timeout=120)
        if "garbled-once" in company and call == 1:
            content = "this is not JSON {"
        elif "garbled" in company and "garbled-once" not in company:
            content = json.dumps({**classification(), "confidence": 7, "surprise": True})
        else:
            answer = next((a for key, a in SCRIPTS if key in company), classification())
            content = json.dumps(answer)
        send_json(handler, 200, self._completion(body.get("model", "fake-model"), content))

    @staticmethod
    def _completion(model: str, content: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
