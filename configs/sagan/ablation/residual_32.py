# Ablation control at 32x32: a local residual block with the attention block's parameters, in its place.
_base_ = ['attention_32.py']
model = dict(generator=dict(attention_variant='residual'), discriminator=dict(attention_variant='residual'))
