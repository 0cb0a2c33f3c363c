"""The sentence-embedding cache: a text list is encoded once per encoder and role, then read back."""

from __future__ import annotations

import torch

from rsbench.text.encoders.base import TextEncoder
from rsbench.text.encoders.cache import cached_encode, entry


class Counting(TextEncoder):
    """A deterministic toy encoder that counts the texts it really encodes."""

    def __init__(self, weights: str | None = "ab" * 32, prompt: str = "") -> None:
        super().__init__(batch_size=4)
        self.weights, self.prompt, self.encoded = weights, prompt, []

    @property
    def dim(self) -> int:
        return 8

    def embed(self, texts, role):
        self.encoded += texts
        return torch.stack([torch.tensor([float(ord(c)) for c in (self.prompt + t + " " * 8)[:8]]) for t in texts])

    def describe(self):
        return {"name": "counting", "model": "toy", "weights_sha256": self.weights, "dim": 8, "normalized": True,
                "prompt": self.prompt}


TEXTS = ["two planes", "a harbour with boats", "two planes", "green fields"]


def test_a_second_encoding_reads_the_cache_and_equals_the_first(rsbench_cache):
    first, second = Counting(), Counting()
    a, hit_a = cached_encode(first, TEXTS, "query")
    b, hit_b = cached_encode(second, TEXTS, "query")
    assert (hit_a, hit_b) == (False, True) and torch.equal(a, b)
    assert sorted(first.encoded) == sorted(set(TEXTS)) and second.encoded == []  # repeats encoded once, then none
    assert entry(first, "query", TEXTS).is_relative_to(rsbench_cache)


def test_another_encoder_role_or_text_list_is_a_miss_and_a_bad_file_is_replaced(rsbench_cache):
    cached_encode(Counting(), TEXTS, "query")
    for encoder, role, texts in ((Counting(prompt="q: "), "query", TEXTS), (Counting(), "document", TEXTS),
                                 (Counting(), "query", TEXTS[:3])):
        assert cached_encode(encoder, texts, role)[1] is False
    path = entry(Counting(), "query", TEXTS)
    path.write_bytes(b"not numpy")
    fresh = Counting()
    out, hit = cached_encode(fresh, TEXTS, "query")
    assert not hit and fresh.encoded and cached_encode(Counting(), TEXTS, "query")[1] is True
    assert torch.equal(out, cached_encode(Counting(), TEXTS, "query")[0])


def test_an_encoder_without_local_weights_is_never_cached(rsbench_cache):
    remote = Counting(weights=None)
    assert entry(remote, "query", TEXTS) is None
    cached_encode(remote, TEXTS, "query")
    again = Counting(weights=None)
    assert cached_encode(again, TEXTS, "query")[1] is False and again.encoded
