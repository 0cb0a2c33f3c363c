"""Config dataclasses of the built-in rerankers (free of torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rsbench.errors import ConfigError


def _at_least(value: float, low: float, name: str) -> None:
    if isinstance(value, bool) or value < low:
        raise ConfigError(f"reranker.{name} must be >= {low}, got {value!r}")


@dataclass
class DualSoftmaxConfig:
    """scores times a softmax prior over the queries (Cheng et al. 2021)

    Dual softmax at inference (Cheng et al. 2021): scores times a softmax prior over the queries.
    """

    inverse_temperature: float = field(
        default=100.0, metadata={"help": "softmax sharpness of the prior (100 = CLIP's logit scale)"}
    )

    def __post_init__(self) -> None:
        _at_least(self.inverse_temperature, 0.0, "inverse_temperature")


QB_NORM_ACTIVATIONS = ("top1", "topk")


@dataclass
class QbNormConfig:
    """querybank normalisation, dynamic inverted softmax, training queries as the bank (Bogolin et al. 2022)

    Querybank normalisation with the dynamic inverted softmax (Bogolin et al. 2022).
    """

    beta: float = field(default=20.0, metadata={"help": "inverse temperature of the inverted softmax (paper: 20)"})
    k: int = field(default=1, metadata={"help": "the activation set is the union of every bank query's top-k "
                                               "items; paper: 1"})
    activation: str = field(default="top1", metadata={
        "help": "top1: normalise a query whose top-1 item is activated (the authors' code); topk: only when its "
                "whole top-k is (rsbench's earlier, stricter reading)"})
    bank_size: int | None = field(
        default=None, metadata={"help": "use at most this many training queries as the bank (null = all)"}
    )

    def __post_init__(self) -> None:
        _at_least(self.beta, 0.0, "beta")
        _at_least(self.k, 1, "k")
        if self.activation not in QB_NORM_ACTIVATIONS:
            raise ConfigError(f"reranker.activation must be one of {', '.join(QB_NORM_ACTIVATIONS)}, "
                              f"got {self.activation!r}")
        if self.bank_size is not None:
            _at_least(self.bank_size, 1, "bank_size")


@dataclass
class CslsConfig:
    """hubness correction: 2s minus mean top-10 of row and column (Conneau et al. 2018)

    Cross-domain similarity local scaling (Conneau et al. 2018): 2s minus both sides' mean top-k.
    """

    k: int = field(default=10, metadata={"help": "neighbourhood size of the hubness terms (paper and CFITR: 10)"})

    def __post_init__(self) -> None:
        _at_least(self.k, 1, "k")


@dataclass
class GalrConfig:
    """GaLR's reverse-query rerank of the top K (Yuan et al. 2022; its code's defaults)

    GaLR's reverse-query rerank (Yuan et al. 2022, postprocessing/rerank.py of xiaoyuan1996/GaLR).
    """

    k: int = field(default=30, metadata={"help": "candidates reranked per query, at least 10 (GaLR's script: 30)"})
    wp1: float = field(default=1.0, metadata={"help": "weight of the column-normalised score (code default 1.0; "
                                                        "its script uses 0.30)"})
    wp2: float = field(default=0.7, metadata={"help": "weight of the reverse-query rank term (code default 0.7; "
                                                        "its script uses 1.1)"})

    def __post_init__(self) -> None:
        _at_least(self.k, 1, "k")
