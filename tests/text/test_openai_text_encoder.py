"""The ``openai`` text encoder against a real OpenAI-compatible server on 127.0.0.1: what it sends, what it
returns (the server's vectors, normalised, in order), batching, prompts, the key, retries and refusals."""

from __future__ import annotations

import pytest
import torch

from rsbench.errors import ConfigError, RsbenchError
from rsbench.testing.openai_server import OpenAICompatibleServer, ServerReply, fake_embedding
from rsbench.text.encoders import build_text_encoder

TEXTS = ["two planes beside a terminal", "a river through a forest", "boats in a harbour"]


def expected(texts: list[str], dim: int = 8) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.tensor([fake_embedding(t, dim) for t in texts]), dim=-1)


def encoder_for(server: OpenAICompatibleServer, **options):
    return build_text_encoder("openai", {"base_url": server.url, "model": "embed-1", "backoff": 0.0,
                                         "timeout": 5.0, **options})


def test_embeddings_are_the_server_s_vectors_normalised_in_order_and_batched():
    with OpenAICompatibleServer() as server:
        encoder = encoder_for(server, batch_size=2)
        out = encoder.encode_documents(TEXTS)
        assert out.dtype == torch.float32 and out.shape == (3, 8)
        assert torch.allclose(out, expected(TEXTS), atol=1e-6)
        bodies = [r.body for r in server.requests if r.path.endswith("/embeddings")]
        assert [b["input"] for b in bodies] == [TEXTS[:2], TEXTS[2:]]  # batch_size texts per request
        assert all(b["model"] == "embed-1" and "dimensions" not in b for b in bodies)
        assert "Authorization" not in server.requests[0].headers
        assert encoder.describe()["dim"] == 8 and encoder.describe()["weights_sha256"] is None
        assert encoder.describe()["endpoint"] == server.url


def test_prompts_dimensions_and_the_key_reach_the_endpoint(monkeypatch):
    monkeypatch.setenv("RSBENCH_TEST_EMBED_KEY", "sk-right")
    with OpenAICompatibleServer(api_key="sk-right", embedding_dim=6) as server:
        encoder = encoder_for(server, api_key_env="RSBENCH_TEST_EMBED_KEY", dimensions=6,
                              query_prompt="query: ", document_prompt="passage: ")
        queries = encoder.encode_queries(TEXTS[:1])
        documents = encoder.encode_documents(TEXTS[:1])
        assert torch.allclose(queries, expected(["query: " + TEXTS[0]], 6), atol=1e-6)
        assert torch.allclose(documents, expected(["passage: " + TEXTS[0]], 6), atol=1e-6)
        assert not torch.allclose(queries, documents)
        assert all(r.body["dimensions"] == 6 for r in server.requests)
        assert server.requests[0].headers["Authorization"] == "Bearer sk-right"


def test_a_rate_limit_is_retried_and_a_refused_key_is_one_error(monkeypatch):
    with OpenAICompatibleServer() as server:
        server.queue(ServerReply(status=429, body={"error": {"message": "slow down"}}))
        out = encoder_for(server).encode_queries(TEXTS[:1])
        assert torch.allclose(out, expected(TEXTS[:1]), atol=1e-6) and len(server.requests) == 2
    monkeypatch.setenv("RSBENCH_TEST_EMBED_KEY", "sk-wrong")
    with OpenAICompatibleServer(api_key="sk-right") as server:
        with pytest.raises(RsbenchError, match="refused the key"):
            encoder_for(server, api_key_env="RSBENCH_TEST_EMBED_KEY").encode_queries(TEXTS[:1])


def test_width_is_learnt_from_the_endpoint_and_an_empty_list_is_empty():
    with OpenAICompatibleServer(embedding_dim=5) as server:
        encoder = encoder_for(server)
        assert encoder.encode_queries([]).shape == (0, 5)  # one probe request learns the width
        assert len(server.requests) == 1


@pytest.mark.parametrize(("options", "message"), [
    ({"base_url": "localhost:8000"}, "base_url must start with 'http://' or 'https://'"),
    ({"dimensions": 0}, "text_encoder.dimensions must be >= 1; got 0"),
    ({"batch_size": 0}, "text_encoder.batch_size must be >= 1; got 0"),
    ({"modle": "x"}, "Did you mean: model"),
])
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        build_text_encoder("openai", options)
