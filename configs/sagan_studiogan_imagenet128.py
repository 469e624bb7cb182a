# PyTorch-StudioGAN's ImageNet SAGAN (src/configs/ImageNet/SAGAN-256.yaml: 128x128, batch 256), reproduced
# exactly by our networks: load its G / D / G_ema files with tools/convert_checkpoint.py --from studiogan.
# Checked against StudioGAN's code (docs/converting.md): this is StudioGAN's function. mmagic's
# cvt-studioGAN configs give the same generator (BGR out) but another discriminator (no in-place shortcut,
# BGR images into RGB weights); their checkpoints convert with --from mmagic, our config derived from theirs.
_base_ = ['sagan_mmagic_imagenet128.py']

model = dict(
    generator=dict(sn_eps=1e-6),  # StudioGAN's ops.snconv2d / snlinear
    discriminator=dict(
        relu_shortcut=True,  # DiscBlock: x0 = x; x = ReLU(inplace)(x) feeds the shortcut ReLU(x) too
        sn_eps=1e-6))
