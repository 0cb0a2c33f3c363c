"""LoRA adapters: ``clip-lora`` (CMER's CLIP-LoRA baseline) and ``lora``; the torch code lives in model.py."""
