"""The default plugin: registers rsbench's own components through the same hooks as any plugin, reached like any
plugin through its ``rsbench`` entry point (pyproject.toml).

One line per component: its name, its lazy ``"module:attr"`` factory (so that listing components imports no torch)
and its config class, which lives in the ``config.py`` beside the factory's module and whose docstring's first line
is the description ``rsbench list`` shows. Only a config class shared by several names comes with a ``description``
here.
"""

from __future__ import annotations

from rsbench.captioning.config import (
    FileCaptionerConfig,
    OpenAICaptionerConfig,
    OracleCaptionerConfig,
    TinyCaptionerConfig,
    TransformersCaptionerConfig,
)
from rsbench.data.config import GenericKarpathyConfig, KarpathyConfig, NwpuConfig, PrecompConfig, RsicdConfig
from rsbench.data.synthrs.config import SynthRSConfig
from rsbench.data.synthshapes.config import SynthShapesConfig
from rsbench.hooks.manager import hookimpl
from rsbench.models.adapters.config import BitFitConfig, ClipAdapterConfig, FrozenConfig, FullConfig, LinearProbeConfig
from rsbench.models.adapters.focus.config import FocusConfig, FocusVisualConfig
from rsbench.models.adapters.lora.config import LoraConfig, TextLoraConfig
from rsbench.models.backbones.config import BackboneConfig
from rsbench.registry import NoOptions
from rsbench.retrieval.index.config import ExactIndexConfig, FaissIndexConfig
from rsbench.retrieval.rerankers.config import CslsConfig, DualSoftmaxConfig, GalrConfig, QbNormConfig
from rsbench.retrieval.strategies.config import DualStreamConfig, FastThenFineConfig, HybridConfig, TextToTextConfig
from rsbench.text.augmenters.config import RichCaptionConfig, SceneConfig
from rsbench.text.encoders.config import ClipTextConfig, OpenAIEmbeddingsConfig, SentenceTransformersConfig
from rsbench.train.losses.config import HingeConfig, InfoNCEConfig, MultiGranularConfig
from rsbench.train.samplers.config import BatchConfig, QueueConfig


@hookimpl
def register_backbones(register):
    from rsbench.models.backbones import builtin_model_names

    for name in builtin_model_names():  # one config class for every architecture: the description names it
        register(name, "rsbench.models.backbones:build_backbone", BackboneConfig,
                 f"built-in tiny CLIP architecture ({name}.json)")


@hookimpl
def register_datasets(register):
    register("synthrs", "rsbench.data.synthrs.dataset:load_synthrs", SynthRSConfig)
    register("synthshapes", "rsbench.data.synthshapes.dataset:load_synthshapes", SynthShapesConfig)
    # one config class serves rsitmd, ucm and sydney (their file layouts differ, not their options)
    register("rsitmd", "rsbench.data.karpathy:load_rsitmd", KarpathyConfig,
             "RSITMD (dataset_RSITMD.json, 33 scene classes from <class>_<n> file names)")
    register("rsicd", "rsbench.data.karpathy:load_rsicd", RsicdConfig)
    register("ucm", "rsbench.data.karpathy:load_ucm", KarpathyConfig,
             "UCM-captions (dataset.json, 21 classes by image id)")
    register("sydney", "rsbench.data.karpathy:load_sydney", KarpathyConfig,
             "Sydney-captions (dataset.json, 7 classes by image id range)")
    register("karpathy", "rsbench.data.karpathy:load_karpathy_dataset", GenericKarpathyConfig)
    register("precomp", "rsbench.data.precomp:load_precomp", PrecompConfig)
    register("nwpu", "rsbench.data.nwpu:load_nwpu", NwpuConfig)


@hookimpl
def register_adapters(register):
    register("full", "rsbench.models.adapters.full:build", FullConfig)
    register("frozen", "rsbench.models.adapters.frozen:build", FrozenConfig)
    register("linear-probe", "rsbench.models.adapters.linear_probe:build", LinearProbeConfig)
    register("clip-lora", "rsbench.models.adapters.lora.model:build", LoraConfig)
    register("lora", "rsbench.models.adapters.lora.model:build", TextLoraConfig)
    register("focus", "rsbench.models.adapters.focus.model:build", FocusConfig)
    register("focus-visual", "rsbench.models.adapters.focus.model:build", FocusVisualConfig)
    register("clip-bitfit", "rsbench.models.adapters.bitfit:build", BitFitConfig)
    register("clip-adapter", "rsbench.models.adapters.clip_adapter:build", ClipAdapterConfig)


@hookimpl
def register_samplers(register):
    register("batch", "rsbench.train.samplers.batch:build", BatchConfig)
    register("queue", "rsbench.train.samplers.queue:build", QueueConfig)


@hookimpl
def register_losses(register):
    register("infonce", "rsbench.train.losses.infonce:build", InfoNCEConfig)
    register("dw-hinge", "rsbench.train.losses.hinge:build", HingeConfig)
    register("multi-granular", "rsbench.train.losses.multi_granular:build", MultiGranularConfig)


@hookimpl
def register_augmenters(register):
    register("none", "rsbench.text.augmenters.none:build", NoOptions, "captions as annotated")
    register("scene", "rsbench.text.augmenters.scene:build", SceneConfig)
    register("rich-caption", "rsbench.text.augmenters.rich_caption:build", RichCaptionConfig)


@hookimpl
def register_strategies(register):
    register("dual-stream", "rsbench.retrieval.strategies.dual_stream:build", DualStreamConfig)
    register("fast-then-fine", "rsbench.retrieval.strategies.fast_then_fine:build", FastThenFineConfig)
    register("text-to-text", "rsbench.retrieval.strategies.text_to_text:build", TextToTextConfig)
    register("hybrid", "rsbench.retrieval.strategies.hybrid:build", HybridConfig)


@hookimpl
def register_rerankers(register):
    register("none", "rsbench.retrieval.rerankers.base:build_none", NoOptions, "the strategy's scores, unchanged")
    register("dual-softmax", "rsbench.retrieval.rerankers.dual_softmax:build", DualSoftmaxConfig)
    register("qb-norm", "rsbench.retrieval.rerankers.qb_norm:build", QbNormConfig)
    register("csls", "rsbench.retrieval.rerankers.csls:build", CslsConfig)
    register("galr", "rsbench.retrieval.rerankers.galr:build", GalrConfig)


@hookimpl
def register_indexes(register):
    register("exact", "rsbench.retrieval.index.exact:build", ExactIndexConfig)
    # one config class serves the three faiss names: each comes with its description
    register("flat", "rsbench.retrieval.index.faiss_index:build", FaissIndexConfig,
             "faiss IndexFlatIP: exact search with faiss's kernels (GPU when present); needs faiss")
    register("hnsw", "rsbench.retrieval.index.faiss_index:build", FaissIndexConfig,
             "faiss HNSW graph (M 32, efSearch 128): approximate, fast on CPU; needs faiss")
    register("ivfpq", "rsbench.retrieval.index.faiss_index:build", FaissIndexConfig,
             "faiss IVF-PQ: inverted lists of product-quantised codes, compact for huge galleries; needs faiss")


@hookimpl
def register_text_encoders(register):
    register("sentence-transformers", "rsbench.text.encoders.sentence_transformers_encoder:build",
             SentenceTransformersConfig)
    register("clip-text", "rsbench.text.encoders.clip_text:build", ClipTextConfig)
    register("openai", "rsbench.text.encoders.openai_embeddings:build", OpenAIEmbeddingsConfig)


@hookimpl
def register_captioners(register):
    register("file", "rsbench.captioning.file:build", FileCaptionerConfig)
    register("oracle", "rsbench.captioning.oracle:build", OracleCaptionerConfig)
    register("openai", "rsbench.captioning.openai_chat:build", OpenAICaptionerConfig)
    register("transformers", "rsbench.captioning.transformers_vlm:build", TransformersCaptionerConfig)
    register("tiny", "rsbench.captioning.tiny:build", TinyCaptionerConfig)
