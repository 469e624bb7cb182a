# mmagic 1.2's SAGAN at 128x128 (sagan_woReLUinplace_Glr1e-4_Dlr4e-4_ndisc1-4xb64_imagenet1k-128x128),
# reproduced exactly by our networks. Its checkpoints, and those of mmagic's other 128x128 SAGAN configs
# (bigGAN-sch, 128_cvt_studioGAN), convert with our config derived from mmagic's:
#   python tools/convert_checkpoint.py --from mmagic IN.pth OUT.pth --peer-config <mmagic config name>
# which also takes this file's data and evaluation (docs/converting.md). StudioGAN's own files:
# configs/sagan_studiogan_imagenet128.py.
_base_ = ['sagan_imagenet128.py']

model = dict(
    generator=dict(
        attention_variant='pooled',  # the paper table and attention_at=(64, ) of our base are mmagic's too
        norm_eps=1e-4,  # mmagic's norm_eps default
        sn_eps=1e-12),  # mmagic's sn_eps default
    discriminator=dict(attention_variant='pooled', sn_eps=1e-12))  # attention after from_rgb (64x64)

optim_wrapper = dict(betas=(0.0, 0.999))  # mmagic's (and BigGAN's) beta2; the paper's text says 0.9
