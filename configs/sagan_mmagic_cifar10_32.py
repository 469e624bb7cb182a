# mmagic 1.2's SAGAN at 32x32 (sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32), reproduced exactly.
# mmagic's 32x32 checkpoints convert with `tools/convert_checkpoint.py --from mmagic IN.pth OUT.pth
# --peer-config NAME`; the derived config takes this data and evaluation (docs/converting.md).
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

# Evaluation as mmagic reports its CIFAR-10 SAGANs: IS-50k, and FID-50k against all 50,000 training images.
# CIFAR-10 is not shipped with this package: put the python pickles under data/cifar10/cifar-10-batches-py (or
# --cfg-options data_root=/path); until then tools/test.py stops at the dataset, naming that folder.
# IS needs the TF-2015 Inception at `inception_path` (see configs/_base_/evaluation/imagenet_is_fid_50k.py).
cifar_eval_dataset = dict(
    type='CIFAR10',
    data_root='data',  # the training data's root (configs/_base_/datasets/cifar10_32.py)
    data_prefix='cifar10',
    test_mode=False,  # the training split, as mmagic's cifar10-full.pkl statistics
    download=False,
    pipeline=[dict(type='PackInputs')])
test_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=cifar_eval_dataset,
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False)
cifar_metrics = [
    dict(
        type='OfflineIS',
        prefix='IS-50k',
        fake_nums=50000,
        splits=10,
        inception_path='work_dirs/cache/inception-2015-12-05.pt',
        resize=False,
        sample_model='orig'),
    dict(
        type='OfflineFID',
        prefix='FID-50k',
        fake_nums=50000,
        real_nums=-1,
        inception_pkl='work_dirs/cache/cifar10_train_full_tf2015_inception.pkl',
        sample_model='orig'),
]
test_evaluator = dict(type='Evaluator', metrics=cifar_metrics)
test_cfg = dict(type='MultiTestLoop')
