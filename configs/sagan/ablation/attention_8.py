# Ablation arm "feat8": self-attention after the 8x8 blocks of G and D (paper Table 1, scaled down).
_base_ = ['_base_/fashion32_ablation.py']
model = dict(generator=dict(attention_at=(8, )), discriminator=dict(attention_at=(8, )))
