"""The OpenAI-compatible client against a real HTTP server on 127.0.0.1: bodies, retries, backoff, errors."""

from __future__ import annotations

import socket

import pytest

from rsbench.remote.openai_client import EndpointError, OpenAICompatibleClient, RequestFailed
from rsbench.testing.openai_server import OpenAICompatibleServer, ServerReply, chat_completion, fake_embedding

MESSAGES = [{"role": "user", "content": "describe"}]


def client_for(server: OpenAICompatibleServer, sleeps: list[float] | None = None, **options) -> OpenAICompatibleClient:
    """A client of ``server`` that records its waits instead of sleeping (short, so a retry test takes no time)."""
    record = sleeps.append if sleeps is not None else (lambda seconds: None)
    options = {"max_retries": 3, "backoff": 0.5, "max_backoff": 8.0, "timeout": 5.0} | options
    return OpenAICompatibleClient(server.url, options.pop("api_key", None), sleep=record, **options)


def test_chat_posts_the_body_and_returns_the_reply_text():
    with OpenAICompatibleServer(chat_reply=lambda body: f"seen {body['model']}") as server:
        reply = client_for(server).chat("vlm-1", MESSAGES, temperature=0.3, max_tokens=20)
        assert reply.text == "seen vlm-1" and reply.finish_reason == "stop" and reply.usage["total_tokens"] == 20
        (request,) = server.requests
        assert request.path == "/v1/chat/completions"
        assert request.body == {"model": "vlm-1", "messages": MESSAGES, "temperature": 0.3, "max_tokens": 20}
        assert "Authorization" not in request.headers  # no key: local servers need none


def test_the_key_goes_in_a_bearer_header_and_a_refused_key_stops_with_the_variable_to_set():
    with OpenAICompatibleServer(api_key="sk-right") as server:
        assert client_for(server, api_key="sk-right").chat("m", MESSAGES).text
        assert server.requests[-1].headers["Authorization"] == "Bearer sk-right"
        with pytest.raises(EndpointError, match=r"refused the key \(401, a key was sent\).*set \$MY_KEY"):
            client_for(server, api_key="sk-wrong", key_hint="$MY_KEY").chat("m", MESSAGES)
        with pytest.raises(EndpointError, match="401, no key was sent"):
            client_for(server).chat("m", MESSAGES)
        assert server.count() == 3  # a refused key is not retried


def test_429_is_retried_after_the_wait_retry_after_asks_for():
    sleeps: list[float] = []
    with OpenAICompatibleServer(chat_reply=lambda body: "fine") as server:
        server.queue(ServerReply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "3"}),
                     ServerReply(429, headers={"Retry-After": "30"}))  # more than max_backoff: capped
        assert client_for(server, sleeps).chat("m", MESSAGES).text == "fine"
        assert server.count() == 3
    assert sleeps == [3.0, 8.0]


def test_5xx_backs_off_exponentially_then_fails_for_this_request_only():
    sleeps: list[float] = []
    with OpenAICompatibleServer() as server:
        server.queue(*[ServerReply(503, {"error": {"message": "overloaded"}})] * 4)
        with pytest.raises(RequestFailed, match=r"answered 503 \(overloaded\) 4 times"):
            client_for(server, sleeps).chat("m", MESSAGES)
        assert server.count() == 4  # the first try and max_retries=3 more
        assert client_for(server).chat("m", MESSAGES).text  # the endpoint itself still works
    # 0.5, 1, 2 seconds, each with up to 10 % jitter
    assert [round(s, 1) for s in sleeps] == pytest.approx([0.5, 1.0, 2.0], abs=0.21)
    assert all(base <= s <= base * 1.1 for s, base in zip(sleeps, [0.5, 1.0, 2.0], strict=True))


def test_500_then_success():
    with OpenAICompatibleServer(chat_reply=lambda body: "after a hiccup") as server:
        server.queue(ServerReply(500), ServerReply(502))
        assert client_for(server).chat("m", MESSAGES).text == "after a hiccup"
        assert server.count() == 3


@pytest.mark.parametrize(("scripted", "message"), [
    (ServerReply(200, text="{not json"), "not JSON"),
    (ServerReply(200, body=["a", "list"]), "JSON list, not an object"),
    (ServerReply(200, body={"choices": []}), r"no choices\[0\]\.message\.content"),
    (ServerReply(400, {"error": {"message": "image too large"}}), "400: image too large"),
])
def test_a_malformed_or_refused_reply_fails_this_request_without_retries(scripted, message):
    with OpenAICompatibleServer() as server:
        server.queue(scripted)
        with pytest.raises(RequestFailed, match=message):
            client_for(server).chat("m", MESSAGES)
        assert server.count() == 1


def test_a_wrong_route_or_model_is_an_endpoint_error():
    with OpenAICompatibleServer() as server:
        server.queue(ServerReply(404, {"error": {"message": "model 'gpt-9' not found"}}))
        with pytest.raises(EndpointError, match=r"\(404\) \(model 'gpt-9' not found\): check base_url"):
            client_for(server).chat("gpt-9", MESSAGES)


def test_content_parts_and_null_content():
    with OpenAICompatibleServer() as server:
        parts = chat_completion("x")
        parts["choices"][0]["message"]["content"] = [{"type": "text", "text": "two "},
                                                     {"type": "text", "text": "parts"}]
        empty = chat_completion("x")
        empty["choices"][0]["message"]["content"] = None
        server.queue(ServerReply(200, parts), ServerReply(200, empty))
        assert client_for(server).chat("m", MESSAGES).text == "two parts"
        assert client_for(server).chat("m", MESSAGES).text == ""


def test_a_slow_reply_times_out_and_is_retried():
    sleeps: list[float] = []
    with OpenAICompatibleServer(chat_reply=lambda body: "in time") as server:
        server.queue(ServerReply(delay=1.0))
        assert client_for(server, sleeps, timeout=0.3).chat("m", MESSAGES).text == "in time"
        assert len(sleeps) == 1
        server.queue(*[ServerReply(delay=1.0)] * 2)
        with pytest.raises(RequestFailed, match=r"no reply .* within 0.3 s, 2 tries"):
            client_for(server, timeout=0.3, max_retries=1).chat("m", MESSAGES)


def test_an_endpoint_nobody_listens_on_is_an_endpoint_error():
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    client = OpenAICompatibleClient(f"http://127.0.0.1:{port}/v1", max_retries=2, sleep=sleeps.append)
    with pytest.raises(EndpointError, match=rf"cannot reach http://127.0.0.1:{port}/v1 after 3 tries"):
        client.chat("m", MESSAGES)
    assert len(sleeps) == 2


def test_embeddings_in_order_and_in_batches():
    texts = [f"caption {i}" for i in range(7)]
    with OpenAICompatibleServer(embedding_dim=4) as server:
        vectors = client_for(server).embeddings("embedder", texts, batch_size=3)
        assert vectors == [fake_embedding(t, 4) for t in texts]
        assert [len(r.body["input"]) for r in server.requests] == [3, 3, 1]
        assert all(r.path == "/v1/embeddings" and r.body["model"] == "embedder" for r in server.requests)
        shuffled = {"data": [{"index": 1, "embedding": [1.0]}, {"index": 0, "embedding": [0.0]}]}
        server.queue(ServerReply(200, shuffled), ServerReply(200, {"data": [{"index": 0, "embedding": [1.0]}]}))
        assert client_for(server).embeddings("e", ["a", "b"]) == [[0.0], [1.0]]  # by index, not arrival
        with pytest.raises(RequestFailed, match="1 embeddings for 2 texts"):
            client_for(server).embeddings("e", ["a", "b"])
