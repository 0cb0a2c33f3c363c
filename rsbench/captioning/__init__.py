"""Captioners: models (or files, or SynthRS's own metadata) that describe images in words, and the cache of what
they wrote. ``caption_records`` is the entry point other stages call; ``rsbench caption`` runs it from the CLI.

One module per component: ``file``, ``oracle``, ``openai_chat``, ``transformers_vlm``; ``prompt`` (template files
in ``prompts/`` and their parsers), ``cache``, ``captions`` (the loop over records). Importing this package
imports no torch.
"""

from rsbench.captioning.base import Captioner, CaptionFailure
from rsbench.captioning.captions import CaptionRun, CaptionSet, caption_records
from rsbench.captioning.prompt import Prompt, ReplyError, builtin_prompts, load_prompt

__all__ = ["CaptionFailure", "CaptionRun", "CaptionSet", "Captioner", "Prompt", "ReplyError", "builtin_prompts",
           "caption_records", "load_prompt"]
