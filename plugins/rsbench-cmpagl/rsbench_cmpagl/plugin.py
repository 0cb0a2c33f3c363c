"""The plugin module named by the ``rsbench`` entry point: registers CMPAGL's four components.

Factories are lazy ``"module:attr"`` strings, so ``rsbench list`` imports no torch for them.
"""

from __future__ import annotations

from rsbench.hooks import hookimpl
from rsbench_cmpagl.config import FusionRerankConfig, GswinConfig, SmrConfig, TripletIntraConfig


@hookimpl
def register_adapters(register):
    register("gswin", "rsbench_cmpagl.gswin:build", GswinConfig,
             "CMPAGL: Gswin blocks (shifted local windows + global window) gated into a CLIP image tower; text LoRA")


@hookimpl
def register_losses(register):
    register("triplet-intra", "rsbench_cmpagl.triplet_intra:build", TripletIntraConfig,
             "CMPAGL pre-alignment: hardest-negative triplet + intra-class term (matched cosine toward 1) + ITC")


@hookimpl
def register_strategies(register):
    register("fusion-rerank", "rsbench_cmpagl.fusion_rerank:build", FusionRerankConfig,
             "CMPAGL fusion stage: dual-stream top-K re-scored by a fusion encoder's ITM head fitted on train")


@hookimpl
def register_rerankers(register):
    register("smr", "rsbench_cmpagl.smr:build", SmrConfig,
             "CMPAGL SMR (our reading): reverse-normalised score (gamma1) + reverse-rank bonus (gamma2)")
