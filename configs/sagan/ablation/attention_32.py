# Ablation arm "feat32": self-attention after the 32x32 blocks of G and D (paper Table 1, scaled down).
_base_ = ['_base_/fashion32_ablation.py']
model = dict(generator=dict(attention_at=(32, )), discriminator=dict(attention_at=(32, )))
