# Ablation arm "no attention": the same G and D with nothing in the attention slot (paper Table 1, first row).
_base_ = ['_base_/fashion32_ablation.py']
custom_hooks = []  # no attention layer, so no gamma to log and no attention figure
