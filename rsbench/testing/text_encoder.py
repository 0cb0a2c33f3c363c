"""Contract check of text encoders (``check_text_encoder``); import it from ``rsbench.testing``."""

from __future__ import annotations

import json
from typing import Any

import torch

from rsbench.testing.rules import ContractError, require

TEXTS = ["a harbor with three white ships", "two planes parked next to the terminal", "a dense residential area",
         "green farmland crossed by a river", "a bridge"]


def check_text_encoder(encoder: Any) -> None:
    """A built text encoder: float32 (N, dim) CPU tensors, unit rows when normalised, batching-independent,
    deterministic, an empty list gives (0, dim), a bare string is refused, and ``describe()`` is JSON."""
    from rsbench.errors import RsbenchError
    from rsbench.text.encoders.base import DESCRIBE_KEYS, TextEncoder

    where = f"text encoder {type(encoder).__name__}"
    require(isinstance(encoder, TextEncoder), where, "must subclass rsbench.text.encoders.base.TextEncoder")
    described = encoder.describe()
    require(isinstance(described, dict), where, "describe() must return a dict")
    missing = [key for key in DESCRIBE_KEYS if key not in described]
    require(not missing, where, f"describe() must hold {', '.join(DESCRIBE_KEYS)}; missing {', '.join(missing)}")
    try:
        json.dumps(described, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContractError(f"{where}: describe() must be JSON (it goes into the record): {exc}") from exc
    dim = encoder.dim
    require(described["dim"] == dim, where, f"describe()['dim'] must be the embedding width {dim}")
    for role in ("queries", "documents"):
        encode = getattr(encoder, f"encode_{role}")
        out = encode(TEXTS)
        require(isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.device.type == "cpu", where,
                f"encode_{role} must return a float32 CPU tensor")
        require(tuple(out.shape) == (len(TEXTS), dim), where,
                f"encode_{role}(list of {len(TEXTS)} str) must give ({len(TEXTS)}, {dim}); got {tuple(out.shape)}")
        require(bool(torch.isfinite(out).all()), where, "embeddings must be finite")
        if described["normalized"]:
            require(torch.allclose(out.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-4), where,
                    "with normalized=True every row must have unit L2 norm")
        require(torch.allclose(out, encode(TEXTS), atol=1e-5), where, f"encode_{role} must be deterministic")
        one_by_one = torch.cat([encode([text]) for text in TEXTS])
        require(torch.allclose(out, one_by_one, atol=1e-4), where,
                f"encode_{role} must not depend on batching: one text at a time must give the same rows")
        require(tuple(encode([]).shape) == (0, dim), where, f"encode_{role}([]) must give a (0, {dim}) tensor")
        try:
            encode(TEXTS[0])
        except RsbenchError:
            pass
        else:
            raise ContractError(f"{where}: encode_{role}(a bare str) must raise RsbenchError, not encode its "
                                f"characters (see docs/plugins.md)")
