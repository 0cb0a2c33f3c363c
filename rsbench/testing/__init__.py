"""Contract checks for components, for plugin authors' own tests (as scikit-learn's ``check_estimator``).

Each ``check_<kind>`` builds nothing it is not given, calls the component exactly as the engine
does (docs/plugins.md says when and with what) and raises ``ContractError`` naming the broken rule::

    from rsbench.testing import check_adapter, check_loss

    def test_my_adapter_keeps_the_contract():
        check_adapter(lambda backbone: MyAdapter(MyConfig(), backbone))

    def test_my_loss_keeps_the_contract():
        check_loss(MyLoss(MyLossConfig()))

``check_component(kind, name)`` does the same for a registered component, built with its
default options; rsbench's own tests run it over every built-in component.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from rsbench import options as option_rules
from rsbench.data.record import SPLITS, Record, RetrievalDataset
from rsbench.errors import RsbenchError
from rsbench.kinds import KIND_OF
from rsbench.testing.captioning import check_captioner, toy_image_records
from rsbench.testing.retrieval import check_index, check_reranker, check_strategy
from rsbench.testing.rules import BATCH, ContractError, embeddings, require, toy_dataset
from rsbench.testing.sampler import check_sampler
from rsbench.testing.text_encoder import check_text_encoder


def tiny_backbone(name: str = "rsbench-tiny") -> Any:
    """A built-in tiny CLIP with random weights: cheap enough to build in every test."""
    from rsbench.models.backbones import build_backbone
    from rsbench.models.backbones.config import BackboneConfig

    torch.manual_seed(0)
    return build_backbone(BackboneConfig(name=name, pretrained=None))


def check_config(config_cls: type) -> None:
    """A component's options: what registration asks (``rsbench.options.check_config_class``): every attribute
    annotated, every field with a default of its own type within its own rules and a help text; the defaults build."""
    try:
        option_rules.check_config_class(config_cls, "component", getattr(config_cls, "__name__", "?"))
    except RsbenchError as exc:
        raise ContractError(str(exc)) from exc


def check_backbone(backbone: Any) -> None:
    """A backbone: ``model`` with ``encode_image``/``encode_text``/``logit_scale``, tokenizer and transforms."""
    from PIL import Image

    where = f"backbone {getattr(backbone, 'name', '?')!r}"
    for attr in ("model", "tokenizer", "preprocess_train", "preprocess_eval", "name", "pretrained", "image_size",
                 "embed_dim", "context_length"):
        require(hasattr(backbone, attr), where, f"must have attribute '{attr}'")
    tokens = backbone.tokenizer(["a harbor", "two planes"])
    require(isinstance(tokens, torch.Tensor) and tokens.dtype == torch.long
            and tuple(tokens.shape) == (2, backbone.context_length), where,
            f"tokenizer(list of 2 str) must give a long tensor (2, context_length={backbone.context_length})")
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    size = backbone.image_size
    for name in ("preprocess_train", "preprocess_eval"):
        pixels = getattr(backbone, name)(image)
        require(tuple(pixels.shape) == (3, size, size), where, f"{name}(PIL image) must give a (3, {size}, {size})"
                f" tensor, got {tuple(pixels.shape)}")
    require(hasattr(backbone.model, "logit_scale"), where, "model must have CLIP's logit_scale (a log temperature)")


def check_adapter(factory: Callable[[Any], Any], backbone: Any = None) -> None:
    """An adapter built by ``factory(backbone)``: shapes, what trains, a training step, eval determinism."""
    from rsbench.models.adapters.base import Adapter
    from rsbench.train.losses.config import InfoNCEConfig
    from rsbench.train.losses.infonce import InfoNCE

    backbone = backbone if backbone is not None else tiny_backbone()
    adapter = factory(backbone)
    where = f"adapter {type(adapter).__name__}"
    require(isinstance(adapter, Adapter), where, "must subclass rsbench.models.adapters.base.Adapter")
    require(isinstance(adapter.trains, bool), where, "'trains' must be True or False")
    params = adapter.trainable_parameters()
    require(all(p.requires_grad for p in params), where, "trainable_parameters() must all have requires_grad")
    if not adapter.trains:
        require(not params, where, "an adapter with trains=False must have no trainable parameters")
    else:
        require(bool(params), where, "an adapter with trains=True needs trainable parameters")
    names = {n for n, p in adapter.named_parameters() if p.requires_grad}
    missing = sorted(names - set(adapter.state_dict()))
    require(not missing, where, f"trainable parameters must be in state_dict() (checkpoints save them): {missing[:3]}")

    g = torch.Generator().manual_seed(0)
    size = backbone.image_size
    images = torch.randn(BATCH, 3, size, size, generator=g)
    tokens = backbone.tokenizer(["a harbor with boats", "two white planes", "a green field", "a long bridge"])
    adapter.eval()
    with torch.no_grad():
        image_emb, text_emb = adapter.encode_image(images), adapter.encode_text(tokens)
        again = adapter.encode_image(images)
    require(image_emb.dim() == 2 and image_emb.shape[0] == BATCH, where,
            f"encode_image((B, 3, S, S)) must return (B, E); got {tuple(image_emb.shape)}")
    require(tuple(text_emb.shape) == tuple(image_emb.shape), where,
            f"encode_text must return the same (B, E) as encode_image; got {tuple(text_emb.shape)}")
    require(bool(torch.isfinite(image_emb).all() and torch.isfinite(text_emb).all()), where,
            "embeddings must be finite")
    require(torch.allclose(image_emb, again), where, "in eval mode, encoding the same images twice must agree")
    reason = adapter.frozen_features_unavailable()
    require(reason is None or isinstance(reason, str), where, "frozen_features_unavailable() must be None or a reason")
    if reason is None:  # the feature cache (train.cache_features) will finish encode_image from stored features
        with torch.no_grad():
            features = adapter.frozen_image_features(images)
            finished = adapter.encode_image_from_features(features)
        require(isinstance(features, dict) and all(isinstance(v, torch.Tensor) and v.shape[0] == BATCH
                                                    for v in features.values()), where,
                "frozen_image_features((B, 3, S, S)) must return a dict of (B, ...) tensors")
        require(torch.allclose(finished, image_emb, rtol=1e-4, atol=1e-5), where,
                "encode_image_from_features(frozen_image_features(x)) must equal encode_image(x)")
    scale = adapter.logit_scale.detach()
    require(isinstance(scale, torch.Tensor) and scale.numel() == 1 and bool(torch.isfinite(scale))
            and float(scale) > 0, where, "logit_scale must be a positive scalar tensor (already exponentiated)")
    if not adapter.trains:
        return
    frozen = {n: p.detach().clone() for n, p in adapter.named_parameters() if not p.requires_grad}
    adapter.train()
    loss = InfoNCE(InfoNCEConfig())(adapter.encode_image(images), adapter.encode_text(tokens), adapter.logit_scale)
    loss.backward()
    grads = [p.grad for p in params if p.grad is not None]
    require(bool(grads) and any(bool(g.abs().sum() > 0) for g in grads), where,
            "a training loss must send gradients to the trainable parameters")
    require(all(bool(torch.isfinite(g).all()) for g in grads), where, "gradients must be finite")
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= 1e-3 * p.grad
    changed = [n for n, p in adapter.named_parameters() if n in frozen and not torch.equal(p, frozen[n])]
    require(not changed, where, f"parameters outside trainable_parameters() must not change: {changed[:3]}")


def _with_tokens(loss: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """For a loss with ``token_level = True``: also pass ``tokens``, each token its embedding plus small noise."""
    if not getattr(loss, "token_level", False):
        return loss
    from rsbench.train.token_batch import TokenBatch

    def call(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor, same: Any) -> torch.Tensor:
        g = torch.Generator().manual_seed(9)
        patches = image[:, None, :] + 0.05 * torch.randn(len(image), 4, image.shape[1], generator=g)
        words = text[:, None, :] + 0.05 * torch.randn(len(text), 3, text.shape[1], generator=g)
        mask = torch.ones(len(text), 3, dtype=torch.bool)
        mask[:, -1] = False  # one padding position
        return loss(image, text, scale, same, tokens=TokenBatch(patches, words, mask))

    return call


def check_loss(loss: Callable[..., torch.Tensor]) -> None:
    """A loss: ``loss(image_emb, text_emb, logit_scale, same_image)`` -> finite scalar that rewards matches.

    A loss that declares ``token_level = True`` also gets ``tokens=TokenBatch(...)`` built from the embeddings.
    """
    where = f"loss {type(loss).__name__}"
    loss = _with_tokens(loss)
    image, text = embeddings(seed=1), embeddings(seed=2)
    scale = torch.tensor(20.0)
    same = torch.eye(BATCH, dtype=torch.bool)
    before = (image.detach().clone(), text.detach().clone())
    for mask in (None, same):
        value = loss(image, text, scale, mask)
        require(isinstance(value, torch.Tensor) and value.dim() == 0, where, "must return a scalar tensor")
        require(bool(torch.isfinite(value)), where, f"must be finite (same_image={'None' if mask is None else 'eye'})")
    require(torch.equal(image.detach(), before[0]) and torch.equal(text.detach(), before[1]), where,
            "must not change its inputs in place")
    value.backward()
    require(image.grad is not None and text.grad is not None and bool(torch.isfinite(image.grad).all()), where,
            "must be differentiable with respect to both embeddings")
    two_pairs = loss(embeddings(2, seed=3), embeddings(2, seed=4), scale, torch.eye(2, dtype=torch.bool))
    require(bool(torch.isfinite(two_pairs)), where, "must work for a batch of 2 pairs")
    # captions 0 and 1 belong to one image: a mask must be accepted where off-diagonal cells are True
    shared = same.clone()
    shared[0, 1] = shared[1, 0] = True
    require(bool(torch.isfinite(loss(image, text, scale, shared))), where,
            "must accept same_image with True off the diagonal (several captions of one image)")
    with torch.no_grad():
        base = embeddings(requires_grad=False, seed=5)
        matched = loss(base, base.clone(), scale, same)
        mismatched = loss(base, base.roll(1, dims=0), scale, same)
    require(float(matched) < float(mismatched), where,
            "aligned pairs (text_i = image_i) must score a lower loss than misaligned ones")


def check_augmenter(factory: Callable[[RetrievalDataset], Any], dataset: RetrievalDataset | None = None) -> None:
    """An augmenter built by ``factory(dataset)``: strings in and out, seeded ``augment``, deterministic queries."""
    from rsbench.text.augmenters.base import Augmenter

    dataset = dataset if dataset is not None else toy_dataset()
    augmenter = factory(dataset)
    where = f"augmenter {type(augmenter).__name__}"
    require(isinstance(augmenter, Augmenter), where, "must subclass rsbench.text.augmenters.base.Augmenter")
    for record in dataset.split("train"):
        for caption in record.captions:
            out = augmenter.augment(caption, record, random.Random(7))
            require(isinstance(out, str) and out.strip() != "", where, "augment must return a non-empty str")
            require(out == augmenter.augment(caption, record, random.Random(7)), where,
                    "augment must depend only on its arguments: the same rng seed gives the same caption")
    test = dataset.split("test")

    def encode_text(texts: list[str]) -> torch.Tensor:
        rows = [torch.Generator().manual_seed(sum(map(ord, t))) for t in texts]
        return torch.stack([torch.randn(8, generator=g) for g in rows])

    augmenter.prepare_queries(test, encode_text)
    for record in test:
        for caption in record.captions:
            query = augmenter.at_query(caption, record)
            require(isinstance(query, str) and query.strip() != "", where, "at_query must return a non-empty str")
            require(query == augmenter.at_query(caption, record), where, "at_query must be deterministic")
    described = augmenter.describe_eval()
    require(isinstance(described, dict), where, "describe_eval must return a dict")
    try:
        json.dumps(described, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContractError(f"{where}: describe_eval must be JSON (it goes into the record): {exc}") from exc


def check_dataset(dataset: RetrievalDataset) -> None:
    """A loaded dataset: records in known splits, non-empty captions, unique images, a stable identity."""
    where = f"dataset {getattr(dataset, 'name', '?')!r}"
    require(isinstance(dataset, RetrievalDataset), where, "factory must return rsbench.data.record.RetrievalDataset")
    require(bool(dataset.records), where, "must hold records")
    for r in dataset.records:
        require(isinstance(r, Record), where, "records must be rsbench.data.record.Record")
        require(r.split in SPLITS, where, f"split must be one of {SPLITS}; {r.image_id} has {r.split!r}")
        require(bool(r.captions) and all(isinstance(c, str) and c.strip() for c in r.captions), where,
                f"every record needs non-empty str captions; {r.image_id} has {r.captions!r}")
        require(r.scene is None or isinstance(r.scene, str), where, "scene must be a str or None")
    for split in SPLITS:
        ids = [r.image_id for r in dataset.split(split)]
        require(len(ids) == len(set(ids)), where, f"an image may appear once per split ({split})")
    require(dataset.content_hash() == dataset.content_hash(), where, "content_hash must be stable")
    require(all(isinstance(p, str) for p in dataset.problems), where, "problems must be lines of text")
    require(all(isinstance(v, int) and v >= 0 for v in dataset.dropped.values()), where,
            "dropped must count what was left out (str -> int)")
    if not dataset.synthetic:
        root = Path(dataset.root).resolve()
        outside = [r.image_id for r in dataset.records if not Path(r.image).resolve().is_relative_to(root)]
        require(not outside, where, f"image paths must stay inside the data root: {outside[:3]}")


def check_component(kind: str, name: str, options: Mapping[str, Any] | None = None, *, backbone: Any = None,
                    dataset: RetrievalDataset | None = None) -> Any:
    """Build the registered ``kind`` ``name`` (default options, plus ``options``) and run its kind's check.

    The check is the kind's in ``rsbench.kinds``: a kind with build arguments (an adapter's backbone, a sampler's
    loss) is checked through ``factory(*build_args)``, any other as built. ``backbone`` goes to the adapter check,
    ``dataset`` to the augmenter's, and its test split's first records to the captioner's (the oracle needs
    SynthRS). Returns what was built (by the check, for a kind with build arguments). The config class is checked
    too (``check_config``).
    """
    from rsbench.registry import get_registry

    component = get_registry(kind).get(name)
    check_config(component.config_cls)
    config_data = dict(options or {})
    if "name" in {f.name for f in dataclasses.fields(component.config_cls)}:
        config_data["name"] = name
    config = option_rules.build_options(component.config_cls, config_data, f"{kind}.")
    check = KIND_OF[kind].load_check()
    context = {"backbone": backbone, "dataset": dataset,
               "records": dataset.split("test")[:4] if dataset is not None else None}
    takes = list(inspect.signature(check).parameters)[1:]  # after the component (or its factory) itself
    extra = {k: v for k, v in context.items() if k in takes}
    if not KIND_OF[kind].build_args:
        built = component.build(config)
        check(built, **extra)
        return built
    made: list[Any] = []

    def factory(*args: Any) -> Any:
        made.append(component.build(config, *args))
        return made[-1]

    check(factory, **extra)
    require(bool(made), f"{kind} {name!r}", "its contract check built nothing")
    return made[-1]


__all__ = [
    "ContractError", "check_adapter", "check_augmenter", "check_backbone", "check_captioner", "check_component",
    "check_config", "check_dataset", "check_index", "check_loss", "check_reranker", "check_sampler", "check_strategy",
    "check_text_encoder", "embeddings", "tiny_backbone", "toy_dataset", "toy_image_records",
]
