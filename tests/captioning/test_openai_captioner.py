"""The ``openai`` captioner through caption_records, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import threading
import time

import pytest
from PIL import Image

from rsbench.captioning import caption_records
from rsbench.captioning.prompt import load_prompt
from rsbench.errors import RsbenchError
from rsbench.testing.openai_server import OpenAICompatibleServer, ServerReply, image_of, structured_reply

FAST = {"backoff": 0.01, "max_backoff": 0.05, "max_retries": 2, "timeout": 10.0}


def options(server: OpenAICompatibleServer, **extra) -> dict:
    return {"base_url": server.url, "model": "vlm-test", **FAST, **extra}


def decoded(data_url: str) -> Image.Image:
    header, payload = data_url.split(",", 1)
    assert header == "data:image/jpeg;base64"
    return Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB")


def test_each_image_goes_inline_with_the_prompt_and_the_papers_settings(image_records, tmp_path):
    with OpenAICompatibleServer() as server:
        out = caption_records(image_records[:2], "openai", options(server), cache_dir=tmp_path)
        assert out.failures == 0 and all(len(c) == 5 for c in out.per_image)
        bodies = [r.body for r in server.requests]
    assert all(r.path == "/v1/chat/completions" for r in server.requests)
    for body in bodies:
        assert body["model"] == "vlm-test" and body["temperature"] == 0.3 and body["max_tokens"] == 1800
        assert body["response_format"] == {"type": "json_object"}
        (message,) = body["messages"]
        text, image = message["content"]
        assert text == {"type": "text", "text": load_prompt("trsllava").text}
        assert image["image_url"]["detail"] == "high"
    sent = {decoded(image_of(b)).size for b in bodies}
    assert sent == {Image.open(r.image).size for r in image_records[:2]}
    # the pixels arrive: the JPEG holds the image's colour (quality 90, so close, not equal)
    original = Image.open(image_records[0].image).convert("RGB")
    arrived = next(decoded(image_of(b)) for b in bodies if decoded(image_of(b)).size == original.size)
    corner = (original.width - 1, original.height - 1)
    assert all(abs(a - b) < 12 for a, b in zip(arrived.getpixel(corner), original.getpixel(corner), strict=True))


def test_plain_prompt_sends_no_json_mode_and_gets_one_sentence(image_records, tmp_path):
    with OpenAICompatibleServer(chat_reply=lambda body: "Two roads cross in the centre.") as server:
        out = caption_records(image_records[:1], "openai", options(server, image_detail=""), prompt="plain",
                              cache_dir=tmp_path)
        body = server.requests[0].body
    assert out.per_image == [["Two roads cross in the centre."]]
    assert "response_format" not in body and "detail" not in body["messages"][0]["content"][1]["image_url"]


def test_a_second_run_does_not_call_the_endpoint(image_records, tmp_path):
    with OpenAICompatibleServer() as server:
        first = caption_records(image_records, "openai", options(server), cache_dir=tmp_path, batch_size=4)
        assert server.count() == 6
        second = caption_records(image_records, "openai", options(server), cache_dir=tmp_path, batch_size=4)
        assert server.count() == 6
    assert second.per_image == first.per_image and second.provenance["counts"]["from_cache"] == 6


def test_another_endpoint_or_temperature_is_another_cache_entry(image_records, tmp_path):
    with OpenAICompatibleServer() as server, OpenAICompatibleServer() as other:
        caption_records(image_records[:1], "openai", options(server), cache_dir=tmp_path)
        caption_records(image_records[:1], "openai", options(other), cache_dir=tmp_path)
        caption_records(image_records[:1], "openai", options(server, temperature=0.0), cache_dir=tmp_path)
        assert (server.count(), other.count()) == (2, 1)


def test_an_unparsable_reply_is_asked_once_more_and_counted_if_it_fails_again(image_records, tmp_path):
    bad_image = {"url": None}

    def reply(body):
        if image_of(body) == bad_image["url"]:
            return "Sure! Here are five descriptions: ..."  # prose, not the JSON asked for
        return structured_reply(image_of(body))

    from rsbench.captioning.config import OpenAICaptionerConfig
    from rsbench.captioning.openai_chat import OpenAICaptioner

    with OpenAICompatibleServer(chat_reply=reply) as server:
        bad_image["url"] = OpenAICaptioner(OpenAICaptionerConfig(**options(server))).messages(
            image_records[2], load_prompt("trsllava"))[0]["content"][1]["image_url"]["url"]
        out = caption_records(image_records[:4], "openai", options(server), cache_dir=tmp_path)
        asked = [image_of(r.body) for r in server.requests]
    assert asked.count(bad_image["url"]) == 2 and len(asked) == 5
    assert out.failures == 1 and out.per_image[2] == [] and all(out.per_image[i] for i in (0, 1, 3))
    assert "not JSON" in out.provenance["failure_examples"][0]["reason"]
    assert out.provenance["counts"]["retried"] == 1


def test_rate_limits_and_server_errors_are_retried_within_a_run(image_records, tmp_path):
    with OpenAICompatibleServer() as server:
        server.queue(ServerReply(429, headers={"Retry-After": "0"}), ServerReply(500), ServerReply(503))
        out = caption_records(image_records[:2], "openai", options(server, concurrency=1), cache_dir=tmp_path)
        assert out.failures == 0 and server.count() == 5


def test_a_request_that_keeps_failing_is_that_images_failure(image_records, tmp_path):
    with OpenAICompatibleServer() as server:
        # image 0: its first try and 2 retries fail, image 1 gets through, then image 0's caption retry fails too
        server.queue(*[ServerReply(500)] * 3, ServerReply(), *[ServerReply(500)] * 3)
        out = caption_records(image_records[:2], "openai", options(server, concurrency=1), cache_dir=tmp_path)
    assert out.failures == 1 and out.per_image[1] and out.provenance["counts"]["retried"] == 1
    assert "answered 500 3 times" in out.provenance["failure_examples"][0]["reason"]


def test_no_more_requests_in_flight_than_the_concurrency_limit(image_records, tmp_path):
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def slow(body):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.3)  # long enough for every worker to be in flight at once, even on a busy machine
        with lock:
            state["now"] -= 1
        return structured_reply(image_of(body))

    with OpenAICompatibleServer(chat_reply=slow) as server:
        out = caption_records(image_records, "openai", options(server, concurrency=3), cache_dir=tmp_path,
                              batch_size=6)
    assert out.failures == 0 and state["most"] == 3


def test_a_refused_key_stops_the_run_and_the_cache_keeps_the_finished_batches(image_records, tmp_path, monkeypatch):
    monkeypatch.setenv("CAPTION_KEY", "sk-good")
    with OpenAICompatibleServer(api_key="sk-good") as server:
        settings = options(server, api_key_env="CAPTION_KEY", concurrency=1)
        caption_records(image_records[:2], "openai", settings, cache_dir=tmp_path, batch_size=2)
        assert server.requests[0].headers["Authorization"] == "Bearer sk-good"
        monkeypatch.setenv("CAPTION_KEY", "sk-revoked")
        with pytest.raises(RsbenchError, match=r"refused the key \(401, a key was sent\).*set \$CAPTION_KEY"):
            caption_records(image_records, "openai", settings, cache_dir=tmp_path, batch_size=2)
        asked = server.count()
        monkeypatch.setenv("CAPTION_KEY", "sk-good")
        out = caption_records(image_records, "openai", settings, cache_dir=tmp_path, batch_size=2)
        assert server.count() - asked == 4 and out.provenance["counts"]["from_cache"] == 2 and out.failures == 0


def test_bad_options_are_config_errors(image_records, tmp_path):
    for bad, message in [({"base_url": "localhost:8000"}, "base_url must start with 'http://' or 'https://'"),
                         ({"concurrency": 0}, "concurrency must be >= 1"),
                         ({"temperature": 2.5}, "temperature must be >= 0 and <= 2; got 2.5"),
                         ({"image_detail": "medium"}, "image_detail must be one of 'high', 'low', 'auto', ''"),
                         ({"model": " "}, "model must not be empty"),
                         ({"image_format": "gif"}, "must be one of 'jpeg', 'png'")]:
        with pytest.raises(RsbenchError, match=message):
            caption_records(image_records, "openai", bad, cache_dir=tmp_path)
