"""Config dataclasses of the built-in rerankers (free of torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rsbench.errors import ConfigError


def _at_least(value: float, low: float, name: str) -> None:
    if isinstance(value, bool) or value < low:
        raise ConfigError(f"reranker.{name} must be >= {low}, got {value!r}")


@dataclass
class DualSoftmaxConfig:
    """Dual softmax at inference (Cheng et al. 2021): scores times a softmax prior over the queries."""

    inverse_temperature: float = field(
        default=100.0, metadata={"help": "softmax sharpness of the prior (100 = CLIP's logit scale)"}
    )

    def __post_init__(self) -> None:
        _at_least(self.inverse_temperature, 0.0, "inverse_temperature")


@dataclass
class QbNormConfig:
    """Querybank normalisation with the dynamic inverted softmax (Bogolin et al. 2022)."""

    beta: float = field(default=20.0, metadata={"help": "inverse temperature of the inverted softmax (paper: 20)"})
    k: int = field(default=1, metadata={"help": "a query is normalised when its top-k items are all activated "
                                               "(top-k of some bank query); paper: 1"})
    bank_size: int | None = field(
        default=None, metadata={"help": "use at most this many training queries as the bank (null = all)"}
    )

    def __post_init__(self) -> None:
        _at_least(self.beta, 0.0, "beta")
        _at_least(self.k, 1, "k")
        if self.bank_size is not None:
            _at_least(self.bank_size, 1, "bank_size")


@dataclass
class CslsConfig:
    """Cross-domain similarity local scaling (Conneau et al. 2018): 2s minus both sides' mean top-k."""

    k: int = field(default=10, metadata={"help": "neighbourhood size of the hubness terms (paper and CFITR: 10)"})

    def __post_init__(self) -> None:
        _at_least(self.k, 1, "k")


@dataclass
class GalrConfig:
    """GaLR's reverse-query rerank (Yuan et al. 2022, postprocessing/rerank.py of xiaoyuan1996/GaLR)."""

    k: int = field(default=30, metadata={"help": "candidates reranked per query, at least 10 (GaLR's script: 30)"})
    wp1: float = field(default=1.0, metadata={"help": "weight of the column-normalised score (code default 1.0; "
                                                        "its script uses 0.30)"})
    wp2: float = field(default=0.7, metadata={"help": "weight of the reverse-query rank term (code default 0.7; "
                                                        "its script uses 1.1)"})

    def __post_init__(self) -> None:
        _at_least(self.k, 1, "k")
