# PyTorch-StudioGAN's CIFAR-10 SAGAN (src/configs/CIFAR10/SAGAN.yaml), reproduced exactly by our networks:
# load its G / D / G_ema files with tools/convert_checkpoint.py --from studiogan (they come out in BGR, as
# mmagic's converted configs). It is mmagic's architecture with StudioGAN's in-place-ReLU discriminator
# shortcut.
# Checked against StudioGAN's code (docs/converting.md): this is StudioGAN's function. mmagic's
# cvt-studioGAN configs give the same generator (BGR out) but another discriminator (no in-place shortcut,
# BGR images into RGB weights); their checkpoints convert with --from mmagic, our config derived from theirs.
_base_ = ['sagan_mmagic_cifar10_32.py']

model = dict(
    generator=dict(sn_eps=1e-6),  # StudioGAN's ops.snconv2d / snlinear
    discriminator=dict(
        relu_shortcut=True,  # DiscBlock: x0 = x; x = ReLU(inplace)(x) feeds the shortcut ReLU(x) too
        sn_eps=1e-6))
