"""The ``tiny`` captioner: a small generative decoder over the shipped tiny CLIP's image tokens, offline.

The image goes through the frozen image tower of ``rsbench-tiny`` / ``synthetic`` (the weights rsbench ships);
its pooled embedding and its patch tokens (after ``ln_post``) are the memory a small transformer decoder
cross-attends to while it writes the caption word by word. The vocabulary is the words of the pretraining corpus
(SynthShapes and its overhead tiles, never SynthRS), so the decoder can only say what that corpus says: objects,
colours, counts, positions, relations — no scene names. It is trained by ``rsbench pretrain-captioner``
(captioning/tiny_train.py) and ships as one float16 safetensors file (``captioning/weights/``) with a model card.

The design is ours (no paper specifies a captioner this small): the classic "show, attend and tell" shape with a
transformer decoder (pre-norm, GELU, tied input/output embeddings), as in open_clip's CoCa text decoder but over
frozen image tokens. It follows no prompt (``uses_prompt`` False). Variant 1 is greedy; variants 2..N are sampled
at ``temperature`` from a generator seeded by ``seed`` and the image's content digest, so every image's captions
are the same whatever batch it is in. Duplicate variants are dropped.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from rsbench.captioning.base import Captioner, CaptionFailure, Reply
from rsbench.captioning.config import TinyCaptionerConfig
from rsbench.captioning.images import image_sha256, open_rgb
from rsbench.errors import ConfigError, DataError

if TYPE_CHECKING:
    from rsbench.captioning.prompt import Prompt
    from rsbench.data.record import Record

FORMAT = "rsbench-tiny-captioner"
FORMAT_VERSION = "1"
SHIPPED_DIR = Path(__file__).parent / "weights"
WEIGHTS_FILE = f"{FORMAT}.safetensors"
CARD_FILE = f"{FORMAT}.md"
CARD_JSON = f"{FORMAT}.json"
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD, BOS, EOS, UNK = range(len(SPECIALS))
WORD = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]")
NO_SPACE_BEFORE = set(",.;:!?)'")


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation marks: the decoder's tokens."""
    return WORD.findall(text.lower())


def detokenize(tokens: Sequence[str]) -> str:
    """Words back into a sentence: no space before punctuation, the first letter capitalised."""
    text = ""
    for token in tokens:
        text += token if (not text or token in NO_SPACE_BEFORE) else " " + token
    return text[:1].upper() + text[1:]


class Vocabulary:
    """The four special tokens, then the corpus's words, most frequent first (ties alphabetically)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def from_captions(cls, captions: Iterable[str], min_count: int = 1) -> Vocabulary:
        counts = Counter(w for caption in captions for w in words(caption))
        return cls([w for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, caption: str, max_length: int) -> list[int]:
        """``<bos> words <eos>``, cut to ``max_length`` tokens (the end marker kept)."""
        ids = [self.stoi.get(w, UNK) for w in words(caption)][: max_length - 2]
        return [BOS, *ids, EOS]

    def decode(self, ids: Iterable[int]) -> str:
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS, UNK):
                out.append(self.itos[i])
        return detokenize(out)


@dataclass(frozen=True)
class DecoderShape:
    """The decoder's sizes; stored in the weights file."""

    vocab_size: int
    width: int = 128
    layers: int = 3
    heads: int = 4
    max_length: int = 32  # tokens, <bos> and <eos> included (the corpus's longest caption is 28 words)
    memory_width: int = 128  # the image tower's token width
    embed_width: int = 128  # the image tower's pooled (projected) embedding width
    memory_grid: int = 4  # the patch grid average-pooled to grid x grid tokens (0: every patch token)


class CaptionDecoder(nn.Module):
    """Transformer decoder: causal self-attention over the words so far, cross-attention to the image tokens."""

    def __init__(self, shape: DecoderShape, dropout: float = 0.1) -> None:
        super().__init__()
        self.shape = shape
        w = shape.width
        self.pooled_proj = nn.Linear(shape.embed_width, w)
        self.token_proj = nn.Linear(shape.memory_width, w)
        self.memory_norm = nn.LayerNorm(w)
        self.token_embedding = nn.Embedding(shape.vocab_size, w)
        self.positional_embedding = nn.Parameter(torch.randn(shape.max_length, w) * 0.01)
        layer = nn.TransformerDecoderLayer(w, shape.heads, 4 * w, dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, shape.layers)
        self.ln_final = nn.LayerNorm(w)
        nn.init.normal_(self.token_embedding.weight, std=0.02)  # tied with the output: small logits at the start

    def memory(self, pooled: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """(B, 1 + T, width): the pooled embedding as the first memory token, then the (pooled) patch tokens."""
        grid = self.shape.memory_grid
        side = math.isqrt(tokens.shape[1])
        if grid and side * side == tokens.shape[1] and side > grid:  # 8 x 8 patches -> 4 x 4: a quarter the cost
            square = tokens.float().transpose(1, 2).reshape(tokens.shape[0], -1, side, side)
            tokens = nn.functional.adaptive_avg_pool2d(square, grid).flatten(2).transpose(1, 2)
        memory = torch.cat([self.pooled_proj(pooled.float())[:, None], self.token_proj(tokens.float())], dim=1)
        return self.memory_norm(memory)

    def forward(self, memory: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits (B, L, vocab) for token ids (B, L) that start with <bos>."""
        length = ids.shape[1]
        x = self.token_embedding(ids) + self.positional_embedding[:length]
        causal = nn.Transformer.generate_square_subsequent_mask(length, device=ids.device, dtype=x.dtype)
        # No padding mask is needed: padding only follows <eos>, and the causal mask keeps every word from it.
        x = self.decoder(x, memory, tgt_mask=causal, tgt_is_causal=True)
        return self.ln_final(x) @ self.token_embedding.weight.T  # tied output embedding

    @torch.no_grad()
    def generate(self, memory: torch.Tensor, temperature: float = 0.0,
                 generators: Sequence[torch.Generator] | None = None) -> list[list[int]]:
        """Token ids per image up to <eos>: greedy when ``temperature`` is 0, else sampled (one generator a row)."""
        batch = memory.shape[0]
        ids = torch.full((batch, 1), BOS, dtype=torch.long, device=memory.device)
        done = torch.zeros(batch, dtype=torch.bool, device=memory.device)
        for _ in range(self.shape.max_length - 1):
            logits = self(memory, ids)[:, -1].float()
            logits[:, [PAD, BOS, UNK]] = float("-inf")
            if temperature == 0:
                nxt = logits.argmax(dim=-1)
            else:
                probs = torch.softmax(logits / temperature, dim=-1).cpu()
                # a finished row draws nothing, so each row's random stream is the same in any batch
                nxt = torch.stack([torch.multinomial(probs[i], 1, generator=generators[i])[0]  # type: ignore[index]
                                   if not done[i] else torch.tensor(PAD) for i in range(batch)]).to(memory.device)
            nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            done |= nxt == EOS
            if bool(done.all()):
                break
        return [row[1:].tolist() for row in ids]


class ImageTokens:
    """The frozen image tower of a tiny CLIP as the decoder's input: pooled embedding and patch tokens."""

    def __init__(self, backbone: Any, device: str | torch.device = "cpu") -> None:
        self.backbone = backbone
        self.device = torch.device(device)
        self.visual = backbone.model.visual.to(self.device).eval()
        self.preprocess = backbone.preprocess_eval

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        was = self.visual.output_tokens
        self.visual.output_tokens = True
        try:
            pooled, tokens = self.visual(images.to(self.device))
        finally:
            self.visual.output_tokens = was
        return pooled, tokens

    def of_files(self, paths: Sequence[str | Path]) -> tuple[torch.Tensor, torch.Tensor]:
        return self(torch.stack([self.preprocess(open_rgb(p)) for p in paths]))


def backbone_identity(name: str = "rsbench-tiny", pretrained: str = "synthetic") -> dict[str, str]:
    """Which CLIP's image tokens a captioner reads: architecture, tag and the weights file's digest."""
    from rsbench.models.backbones.config import shipped_weights
    from rsbench.safe_load import file_sha256

    path = shipped_weights(name, pretrained) or Path(pretrained)
    if not path.is_file():
        raise ConfigError(f"no weights for backbone {name} / {pretrained}")
    return {"name": name, "pretrained": pretrained, "sha256": file_sha256(path)}


def check_backbone(identity: dict[str, str]) -> None:
    """ConfigError unless the backbone weights a captioner file was trained on are the ones here."""
    now = backbone_identity(identity["name"], identity["pretrained"])
    if now["sha256"] != identity["sha256"]:
        raise ConfigError(f"this captioner was trained on the image tokens of {identity['name']} / "
                          f"{identity['pretrained']} with weights sha256 {identity['sha256'][:12]}, but those "
                          f"weights are now {now['sha256'][:12]}; train it again with `rsbench pretrain-captioner`")


def image_tokens_for(identity: dict[str, str], device: str | torch.device = "cpu") -> ImageTokens:
    """The frozen image tower ``identity`` names (``check_backbone`` says whether its weights are still those)."""
    from rsbench.models.backbones.config import BackboneConfig
    from rsbench.models.backbones.open_clip_backbone import build_backbone

    backbone = build_backbone(BackboneConfig(name=identity["name"], pretrained=identity["pretrained"]))
    return ImageTokens(backbone, device)


def save_captioner(decoder: CaptionDecoder, vocabulary: Vocabulary, backbone: dict[str, str], path: Path) -> Path:
    """The decoder as float16 safetensors; shape, vocabulary and backbone identity in the metadata."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").half().contiguous() for k, v in decoder.state_dict().items()}
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "shape": json.dumps(asdict(decoder.shape)),
                "vocabulary": json.dumps(vocabulary.itos), "backbone": json.dumps(backbone)}
    from rsbench.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        save_file(tensors, str(temp), metadata=metadata)
    return path


def load_captioner(path: str | Path) -> tuple[CaptionDecoder, Vocabulary, dict[str, str]]:
    """Decoder (float32, eval mode), vocabulary and backbone identity from a file ``save_captioner`` wrote."""
    from safetensors import SafetensorError, safe_open

    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"captioner.weights: no such file: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (safe_open has no iteration)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ConfigError(f"captioner.weights: {path} is not a safetensors file ({exc})") from exc
    if metadata.get("format") != FORMAT:
        raise ConfigError(f"captioner.weights: {path} is not a tiny captioner (written by `rsbench "
                          f"pretrain-captioner`); its metadata says format {metadata.get('format')!r}")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"captioner.weights: {path} has format version {metadata.get('format_version')!r}; "
                          f"this rsbench reads version {FORMAT_VERSION}")
    shape = DecoderShape(**json.loads(metadata["shape"]))
    vocabulary = Vocabulary(json.loads(metadata["vocabulary"]))
    decoder = CaptionDecoder(shape)
    decoder.load_state_dict({k: v.float() for k, v in tensors.items()})
    return decoder.eval(), vocabulary, json.loads(metadata["backbone"])


def weights_path(config: TinyCaptionerConfig) -> Path:
    return Path(config.weights).expanduser() if config.weights else SHIPPED_DIR / WEIGHTS_FILE


def image_generator(seed: int, digest: str) -> torch.Generator:
    """A generator that depends only on the seed and the image's content: the same captions in any batch."""
    return torch.Generator().manual_seed((seed * 1_000_003 + int(digest[:15], 16)) % (2**63 - 1))


class TinyCaptioner(Captioner):
    """Captions from the shipped (or a user's) tiny captioner file; offline, CPU-fast."""

    uses_prompt = False  # it writes captions, it does not follow instructions
    retry_failures = False  # a second try gives the same captions

    def __init__(self, config: TinyCaptionerConfig) -> None:
        from rsbench.safe_load import file_sha256

        self.config = config
        self.path = weights_path(config)
        self.decoder, self.vocabulary, self.backbone = load_captioner(self.path)
        self.sha256 = file_sha256(self.path)
        check_backbone(self.backbone)
        self._tokens: ImageTokens | None = None

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {"model": f"{FORMAT}@{self.sha256[:12]}", "oracle": False, "weights_sha256": self.sha256,
                "settings": {"variants": c.variants, "temperature": c.temperature, "seed": c.seed}}

    def image_tokens(self, device_name: str) -> ImageTokens:
        """The frozen image tower on ``device_name`` (``auto``: CUDA when present), loaded once per device."""
        from rsbench.runtime import resolve_device

        device = resolve_device(device_name)
        if self._tokens is None or self._tokens.device != device:
            self._tokens = image_tokens_for(self.backbone, device)
            self.decoder.to(device)
        return self._tokens

    @torch.no_grad()
    def write(self, paths: Sequence[str | Path], device: str = "cpu") -> list[list[str]]:
        """Caption variants per image file (greedy first, then sampled ones not already written)."""
        if not paths:
            return []
        tokens = self.image_tokens(device)
        memory = self.decoder.memory(*tokens.of_files(paths))
        greedy = self.decoder.generate(memory)
        out = [[self.vocabulary.decode(ids)] for ids in greedy]
        if self.config.variants > 1:
            generators = [image_generator(self.config.seed, image_sha256(p)) for p in paths]
            for _ in range(self.config.variants - 1):
                for caption, ids in zip(out, self.decoder.generate(memory, self.config.temperature, generators),
                                        strict=True):
                    text = self.vocabulary.decode(ids)
                    if text not in caption:
                        caption.append(text)
        return [[c for c in captions if c] for captions in out]

    def caption(self, records: Sequence[Record], prompt: Prompt, *, device: str = "cpu",
                retry: bool = False) -> list[Reply]:
        try:
            written = self.write([r.image for r in records], device)
        except DataError as exc:  # one unreadable image: caption the others one by one
            if len(records) == 1:
                return [CaptionFailure(str(exc))]
            return [reply for r in records for reply in self.caption([r], prompt, device=device)]
        return [captions if captions else CaptionFailure("the decoder wrote an empty caption")
                for captions in written]


def build(config: TinyCaptionerConfig) -> TinyCaptioner:
    return TinyCaptioner(config)
