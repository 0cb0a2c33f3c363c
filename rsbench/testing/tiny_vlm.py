"""A tiny randomly initialised image-text-to-text model, written to a folder like any downloaded one.

LLaVA-NeXT's architecture (the local VLM of TRSLLaVA's code) at toy size: a 1-block CLIP vision tower on 16-px
tiles, a 1-block Llama decoder over a word-level vocabulary of a few dozen words, and a chat template. As in the real
model, an image's number of tokens depends on its shape (the tiles of its best grid), so a batch of differently
shaped images is padded. Saved with ``save_pretrained`` so that tests load it through the same ``AutoProcessor`` /
``AutoModelForImageTextToText`` path as a real model, offline. Its replies are random words, but they depend on the
image and the prompt, and greedy decoding makes them repeatable.
"""

from __future__ import annotations

from pathlib import Path

WORDS = ("a the of and with in on near image scene aerial view plane planes road river boat boats tree trees "
         "house houses green white grey red blue small large top bottom left right center north south east west "
         "describe one sentence json variants caption feature").split()
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'].upper() }}: {% for c in m['content'] %}{% if c['type'] == 'image' %}"
    "<image> {% else %}{{ c['text'] }} {% endif %}{% endfor %}{% endfor %}{% if add_generation_prompt %}"
    "ASSISTANT: {% endif %}"
)


def write_tiny_vlm(folder: str | Path, seed: int = 0) -> Path:
    """Build the tiny model with ``seed`` and save model and processor into ``folder``; return it."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
        LlavaNextImageProcessor,
        LlavaNextProcessor,
        PreTrainedTokenizerFast,
    )

    transformers.utils.logging.disable_progress_bar()
    folder = Path(folder)
    specials = ["<pad>", "<s>", "</s>", "<unk>", "<image>", "USER", "ASSISTANT", ":"]
    vocab = {word: i for i, word in enumerate(specials + [w for w in WORDS if w not in specials])}
    words = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    words.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                        unk_token="<unk>", extra_special_tokens={"image_token": "<image>"})
    grid = [[16, 32], [32, 16], [32, 32]]  # tall, wide and square images get 2, 2 and 4 tiles
    images = LlavaNextImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16},
                                     image_grid_pinpoints=grid)
    processor = LlavaNextProcessor(image_processor=images, tokenizer=tokenizer, patch_size=8,
                                   chat_template=CHAT_TEMPLATE, vision_feature_select_strategy="default",
                                   image_token="<image>", num_additional_image_tokens=1)
    # A wide initialisation, so that replies differ from image to image and prompt to prompt.
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                              image_size=16, patch_size=8, projection_dim=16, initializer_range=0.5)
    text = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024, pad_token_id=0,
                       bos_token_id=1, eos_token_id=2, initializer_range=0.5)
    config = LlavaNextConfig(vision_config=vision, text_config=text, image_token_id=vocab["<image>"],
                             vision_feature_layer=-1, projector_hidden_act="gelu", image_grid_pinpoints=grid)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlavaNextForConditionalGeneration(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
