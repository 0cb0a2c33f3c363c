"""``rsbench pretrain``: contrastive pretraining of the tiny CLIP that rsbench ships (see recipe.py)."""
