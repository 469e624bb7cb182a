# mmagic 1.2's SAGAN at 32x32 (sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32), reproduced exactly by
# our networks: load its checkpoints with tools/convert_checkpoint.py --from mmagic. Its wReLUinplace variant:
# add --cfg-options model.discriminator.relu_shortcut=True; StudioGAN's:
# configs/sagan_studiogan_cifar10_32.py.
_base_ = ['sagan_cifar10_32.py']

model = dict(
    generator=dict(
        channels=(256, 256, 256,
                  256),  # mmagic base_channels=256, channels_cfg [1, 1, 1]: 4x4 stem + 3 blocks
        attention_at=(16, ),  # attention_after_nth_block=2: after the 16x16 block
        attention_variant='pooled',  # mmagic's SelfAttentionBlock: theta/phi C/8, g C/2, 2x2 max-pooled keys
        norm_eps=1e-4,  # mmagic's norm_eps default (BN and conditional BN)
        sn_eps=1e-12),  # mmagic's sn_eps default (only floors the power iteration's norms)
    discriminator=dict(
        channels=(128, 128, 128, 128),  # mmagic base_channels=128: from_rgb + 3 blocks, [down, down, -, -]
        attention_at=(16, ),  # attention_after_nth_block=1: after from_rgb (16x16)
        attention_variant='pooled',
        sn_eps=1e-12),
    discriminator_steps=5)  # mmagic's CIFAR schedule: 5 D steps per G step

# mmagic's CIFAR optimizers: Adam lr 2e-4 for both, betas (0.5, 0.999).
optim_wrapper = dict(generator_lr=2e-4, discriminator_lr=2e-4, betas=(0.5, 0.999))
train_cfg = dict(max_iters=500_000)  # 100k G steps x 5 D steps, as mmagic
