# Ablation arm "feat16": self-attention after the 16x16 blocks of G and D (paper Table 1, scaled down).
_base_ = ['_base_/fashion32_ablation.py']
model = dict(generator=dict(attention_at=(16, )), discriminator=dict(attention_at=(16, )))
