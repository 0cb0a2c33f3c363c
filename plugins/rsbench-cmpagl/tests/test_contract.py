"""The four components against rsbench's contract, built directly and through the entry point."""

from __future__ import annotations

import pytest
from rsbench_cmpagl.config import FusionRerankConfig, GswinConfig, SmrConfig, TripletIntraConfig
from rsbench_cmpagl.fusion_rerank import FusionRerank
from rsbench_cmpagl.gswin import GswinAdapter
from rsbench_cmpagl.smr import Smr
from rsbench_cmpagl.triplet_intra import TripletIntra

from rsbench.errors import ConfigError
from rsbench.testing import (
    check_adapter,
    check_component,
    check_config,
    check_loss,
    check_reranker,
    check_strategy,
)


@pytest.mark.parametrize("options", [
    {},
    {"image": "lora", "text": "frozen", "global_window": "mean", "depth": 1},
    {"window_size": 2, "global_window": "max", "depth": 3, "shift": False},
])
def test_gswin_keeps_the_adapter_contract(options):
    check_config(GswinConfig)
    check_adapter(lambda backbone: GswinAdapter(GswinConfig(**options), backbone))


@pytest.mark.parametrize("options", [{}, {"negatives": "all", "temperature": 0.07}, {"itc_weight": 0.0}])
def test_triplet_intra_keeps_the_loss_contract(options):
    check_config(TripletIntraConfig)
    check_loss(TripletIntra(TripletIntraConfig(**options)))


@pytest.mark.parametrize("options", [{}, {"candidates": 3, "negatives": "hardest", "depth": 2}, {"fusion_weight": 0.0}])
def test_fusion_rerank_keeps_the_strategy_contract(options):
    check_config(FusionRerankConfig)
    check_strategy(FusionRerank(FusionRerankConfig(**options)))


def test_smr_keeps_the_reranker_contract():
    check_config(SmrConfig)
    check_reranker(Smr(SmrConfig(k=3)))


@pytest.mark.parametrize("kind, name", [("adapter", "gswin"), ("loss", "triplet-intra"),
                                        ("strategy", "fusion-rerank"), ("reranker", "smr")])
def test_registered_through_the_entry_point(registered, kind, name):
    from rsbench.hooks import get_registry, provider

    check_component(kind, name)
    assert provider(get_registry(kind).get(name))["provider"] == "cmpagl"


@pytest.mark.parametrize("cls, options, message", [
    (GswinConfig, {"heads": 3}, "does not divide"),
    (GswinConfig, {"global_window": "corner"}, "global_window"),
    (GswinConfig, {"window_size": 0}, "window_size"),
    (TripletIntraConfig, {"margin": -0.1}, "margin"),
    (TripletIntraConfig, {"triplet_weight": 0, "intra_weight": 0, "itc_weight": 0}, "nothing would train"),
    (FusionRerankConfig, {"candidates": 0}, "candidates"),
    (FusionRerankConfig, {"width": 100, "heads": 3}, "does not divide"),
    (SmrConfig, {"gamma2": -1.0}, "gamma2"),
])
def test_bad_options_are_config_errors(cls, options, message):
    with pytest.raises(ConfigError, match=message):
        cls(**options)
