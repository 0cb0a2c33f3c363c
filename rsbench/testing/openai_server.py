"""A real OpenAI-compatible HTTP server on 127.0.0.1, for tests of anything that talks to such an endpoint.

It answers ``POST /v1/chat/completions`` and ``POST /v1/embeddings`` like OpenAI, vLLM or Ollama do, records every
request (path, headers, JSON body), and can be scripted to fail: queue ``ServerReply`` objects (a 429 with
``Retry-After``, a 500, a body that is not JSON, a slow reply) and they are served first, in order::

    with OpenAICompatibleServer(chat_reply=lambda body: "a harbor with two boats") as server:
        server.queue(ServerReply(429, headers={"Retry-After": "0"}))
        ...  # point the client at server.url
        assert len(server.requests) == 2
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ServerReply:
    """One scripted answer: a status, a JSON body (or raw ``text``), headers, and a delay before answering.

    ``body`` None with status 200 means "the normal answer" (the server's ``chat_reply`` or embeddings), after
    ``delay`` seconds: a slow but correct reply.
    """

    status: int = 200
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: Any


def chat_completion(text: str, model: str = "test-model", finish_reason: str = "stop") -> dict[str, Any]:
    """The JSON an OpenAI-compatible server answers for one chat completion whose reply is ``text``."""
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}}


def structured_reply(seed: str, variants: int = 5) -> str:
    """A reply the TRSLLaVA prompt accepts: strict JSON with ``variants`` distinct three-field descriptions."""
    tag = hashlib.sha256(seed.encode()).hexdigest()[:8]
    return json.dumps({"variants": [
        {"one_sentence": f"Scene {tag}, view {i}.", "feature": f"feature {i} in the north-west",
         "caption": f"A detailed caption {i} of scene {tag}."} for i in range(variants)]})


def fake_embedding(text: str, dim: int = 8) -> list[float]:
    """A fixed vector per text (from its SHA-256), so tests can check which text went where."""
    digest = hashlib.sha256(text.encode()).digest()
    return [(digest[i] - 128) / 128 for i in range(dim)]


def image_of(body: Any) -> str:
    """The data URL of the first image in a chat request body ('' if there is none)."""
    for message in body.get("messages", []) if isinstance(body, dict) else []:
        for part in message.get("content", []) if isinstance(message.get("content"), list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                return str(part.get("image_url", {}).get("url", ""))
    return ""


class OpenAICompatibleServer:
    """Serves on a free port of 127.0.0.1 while used as a context manager; ``url`` ends in ``/v1``.

    ``chat_reply(body) -> str`` makes the normal reply text (default: a structured reply keyed by the image);
    ``api_key``: when set, requests without ``Authorization: Bearer <key>`` get a 401.
    """

    def __init__(self, chat_reply: Callable[[dict[str, Any]], str] | None = None, *, api_key: str | None = None,
                 embedding_dim: int = 8) -> None:
        self.chat_reply = chat_reply or (lambda body: structured_reply(image_of(body)))
        self.api_key = api_key
        self.embedding_dim = embedding_dim
        self.requests: list[ReceivedRequest] = []
        self._script: deque[ServerReply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def queue(self, *replies: ServerReply) -> None:
        """Serve these answers first, one per request, in order."""
        with self._lock:
            self._script.extend(replies)

    def count(self, path_end: str = "") -> int:
        """How many requests arrived (whose path ends with ``path_end``)."""
        with self._lock:
            return sum(r.path.endswith(path_end) for r in self.requests)

    @property
    def url(self) -> str:
        assert self._server is not None, "use the server as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> OpenAICompatibleServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with owner._lock:
                    owner.requests.append(ReceivedRequest(self.path, dict(self.headers), body))
                    scripted = owner._script.popleft() if owner._script else None
                owner._answer(self, body, scripted)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="openai-test-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _normal(self, path: str, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, {"error": {"message": "the body is not a JSON object"}}
        if path.endswith("/chat/completions"):
            return 200, chat_completion(self.chat_reply(body), str(body.get("model", "")))
        if path.endswith("/embeddings"):
            texts = body.get("input")
            texts = [texts] if isinstance(texts, str) else list(texts or [])
            data = [{"object": "embedding", "index": i, "embedding": fake_embedding(t, self.embedding_dim)}
                    for i, t in enumerate(texts)]
            return 200, {"object": "list", "data": data, "model": body.get("model", "")}
        return 404, {"error": {"message": f"no route {path}"}}

    def _answer(self, handler: BaseHTTPRequestHandler, body: Any, scripted: ServerReply | None) -> None:
        reply = scripted or ServerReply()
        if reply.delay:
            time.sleep(reply.delay)
        if self.api_key is not None and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            status, payload, text = 401, {"error": {"message": "Incorrect API key provided"}}, None
        elif reply.status == 200 and reply.body is None and reply.text is None:
            (status, payload), text = self._normal(handler.path, body), None
        else:
            status, payload, text = reply.status, reply.body, reply.text
        data = (text if text is not None else json.dumps(payload if payload is not None else {})).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass
