"""Config dataclasses of the built-in rerankers (free of torch)."""

from __future__ import annotations

from dataclasses import dataclass

from rsbench.options import Options, option


@dataclass
class DualSoftmaxConfig(Options):
    """scores times a softmax prior over the queries (Cheng et al. 2021)

    Dual softmax at inference (Cheng et al. 2021): scores times a softmax prior over the queries.
    """

    inverse_temperature: float = option(100.0, "softmax sharpness of the prior (100 = CLIP's logit scale)", ge=0)


QB_NORM_ACTIVATIONS = ("top1", "topk")


@dataclass
class QbNormConfig(Options):
    """querybank normalisation, dynamic inverted softmax, training queries as the bank (Bogolin et al. 2022)

    Querybank normalisation with the dynamic inverted softmax (Bogolin et al. 2022).
    """

    beta: float = option(20.0, "inverse temperature of the inverted softmax (paper: 20)", ge=0)
    k: int = option(1, "the activation set is the union of every bank query's top-k items; paper: 1", ge=1)
    activation: str = option(
        "top1", "top1: normalise a query whose top-1 item is activated (the authors' code); topk: only when its "
        "whole top-k is (rsbench's earlier, stricter reading)", choices=QB_NORM_ACTIVATIONS)
    bank_size: int | None = option(None, "use at most this many training queries as the bank (null = all)", ge=1)


@dataclass
class CslsConfig(Options):
    """hubness correction: 2s minus mean top-10 of row and column (Conneau et al. 2018)

    Cross-domain similarity local scaling (Conneau et al. 2018): 2s minus both sides' mean top-k.
    """

    k: int = option(10, "neighbourhood size of the hubness terms (paper and CFITR: 10)", ge=1)


@dataclass
class GalrConfig(Options):
    """GaLR's reverse-query rerank of the top K (Yuan et al. 2022; its code's defaults)

    GaLR's reverse-query rerank (Yuan et al. 2022, postprocessing/rerank.py of xiaoyuan1996/GaLR).
    """

    k: int = option(30, "candidates reranked per query, at least 10 (GaLR's script: 30)", ge=1)
    wp1: float = option(1.0, "weight of the column-normalised score (code default 1.0; its script uses 0.30)")
    wp2: float = option(0.7, "weight of the reverse-query rank term (code default 0.7; its script uses 1.1)")
