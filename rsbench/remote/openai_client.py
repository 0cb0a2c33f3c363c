"""A small client for OpenAI-compatible HTTP endpoints (OpenAI, vLLM, Ollama, LM Studio): chat completions and
embeddings, with timeouts and retries.

Retried, with exponential backoff (a ``Retry-After`` header sets the wait instead, up to ``max_backoff``): 408,
429 and 5xx replies, read timeouts and lost connections. What no retry can mend stops the caller with an
``EndpointError`` (a refused key: 401/403; a wrong URL or model: 404; an endpoint that cannot be reached at all);
what fails for one request only (a 400 about one image, a body that is not JSON, retries used up) raises
``RequestFailed``, which callers that go on without that item catch. Both are ``RsbenchError``s.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rsbench.errors import RsbenchError

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
FATAL_STATUS = {401: "refused the key", 403: "refused the key", 404: "has no such route or model"}


class EndpointError(RsbenchError):
    """The endpoint cannot serve any request as configured (refused key, wrong URL or model, unreachable)."""


class RequestFailed(RsbenchError):
    """One request failed for good (after its retries); other requests may still succeed."""


@dataclass
class ChatReply:
    """The text of the first choice of a chat completion, why it stopped, and the token usage reported."""

    text: str
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)


class OpenAICompatibleClient:
    """POSTs JSON to ``{base_url}/chat/completions`` and ``{base_url}/embeddings``; safe to share between threads.

    ``api_key`` None or empty sends no ``Authorization`` header (local servers). ``sleep`` is how the client waits
    between tries (tests pass a recorder).
    """

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 120.0, max_retries: int = 4,
                 backoff: float = 1.0, max_backoff: float = 60.0, key_hint: str = "the API key",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or None
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.key_hint = key_hint
        self.sleep = sleep
        self._local = threading.local()  # one requests.Session per thread: sessions are not thread-safe

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            self._local.session = session
        return session

    def chat(self, model: str, messages: list[dict[str, Any]], **params: Any) -> ChatReply:
        """One chat completion; ``params`` (temperature, max_tokens, response_format, ...) go into the body as given."""
        body = self.post("/chat/completions", {"model": model, "messages": messages, **params})
        try:
            choice = body["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise RequestFailed("the endpoint's reply has no choices[0].message.content") from None
        if isinstance(content, list):  # some servers return content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise RequestFailed("the endpoint's choices[0].message.content is not text")
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        return ChatReply(content, choice.get("finish_reason") if isinstance(choice, dict) else None, usage)

    def embeddings(self, model: str, texts: list[str], *, batch_size: int = 256,
                   **params: Any) -> list[list[float]]:
        """One vector per text, in order, in requests of at most ``batch_size`` texts (not normalised here)."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            body = self.post("/embeddings", {"model": model, "input": chunk, **params})
            data = body.get("data")
            if not isinstance(data, list) or len(data) != len(chunk):
                raise RequestFailed(f"the endpoint returned {len(data) if isinstance(data, list) else 'no'} "
                                    f"embeddings for {len(chunk)} texts")
            try:
                ordered = sorted(data, key=lambda item: item.get("index", 0))
                vectors += [[float(v) for v in item["embedding"]] for item in ordered]
            except (KeyError, TypeError, ValueError, AttributeError):
                raise RequestFailed("the endpoint's embeddings are not lists of numbers") from None
        return vectors

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` as JSON to ``base_url + path`` and return the JSON object it answers, retrying as above."""
        import requests

        url = self.base_url + path
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(payload)
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._session().post(url, data=data, headers=headers, timeout=self.timeout)
            except requests.exceptions.ConnectionError as exc:  # refused, reset, DNS, connect timeout
                if last:
                    raise EndpointError(f"cannot reach {self.base_url} after {attempt + 1} tries "
                                        f"({_reason(exc)}); is the server running and base_url right?") from None
                self.sleep(self._wait(attempt, None))
                continue
            except requests.exceptions.Timeout:
                if last:
                    raise RequestFailed(f"no reply from {url} within {self.timeout:g} s, "
                                        f"{attempt + 1} tries") from None
                self.sleep(self._wait(attempt, None))
                continue
            except requests.exceptions.RequestException as exc:
                raise RequestFailed(f"request to {url} failed: {_reason(exc)}") from None
            status = response.status_code
            if status in FATAL_STATUS:
                raise EndpointError(self._fatal_message(status, url, response))
            if status in RETRY_STATUS or 500 <= status < 600:
                if last:
                    detail = _server_message(response)
                    raise RequestFailed(f"{url} answered {status}{' (' + detail + ')' if detail else ''} "
                                        f"{attempt + 1} times")
                self.sleep(self._wait(attempt, response.headers.get("Retry-After")))
                continue
            if status >= 400:
                raise RequestFailed(f"{url} answered {status}: {_server_message(response) or 'no message'}")
            try:
                body = response.json()
            except ValueError:
                raise RequestFailed(f"{url} answered {status} with a body that is not JSON: "
                                    f"{response.text[:80]!r}") from None
            if not isinstance(body, dict):
                raise RequestFailed(f"{url} answered a JSON {type(body).__name__}, not an object")
            return body
        raise AssertionError("unreachable: the last try returns or raises")

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        asked = _retry_after_seconds(retry_after)
        if asked is not None:
            return min(asked, self.max_backoff)
        wait = min(self.max_backoff, self.backoff * 2**attempt)
        return wait + random.uniform(0, 0.1 * wait)  # jitter, so parallel requests do not retry in step

    def _fatal_message(self, status: int, url: str, response: Any) -> str:
        detail = _server_message(response)
        detail = f" ({detail})" if detail else ""
        if status in (401, 403):
            sent = "a key was sent" if self.api_key else "no key was sent"
            return (f"{self.base_url} {FATAL_STATUS[status]} ({status}, {sent}){detail}: "
                    f"set {self.key_hint} to a key it accepts")
        return f"{url} {FATAL_STATUS[status]} ({status}){detail}: check base_url (it usually ends in /v1) and model"


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _server_message(response: Any) -> str:
    """The error message an OpenAI-style body carries (``{"error": {"message": ...}}``), shortened; else ''."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", ""))[:200]
    if isinstance(error, str):
        return error[:200]
    return ""


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return (text[:160] + "...") if len(text) > 160 else text or type(exc).__name__
