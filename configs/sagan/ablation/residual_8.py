# Ablation control at 8x8: a local residual block with the attention block's parameters, in its place.
_base_ = ['attention_8.py']
model = dict(generator=dict(attention_variant='residual'), discriminator=dict(attention_variant='residual'))
