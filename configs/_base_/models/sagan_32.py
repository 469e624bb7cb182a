# SAGAN at 32x32 (the peers' CIFAR-10 set-up): BigGAN's 32x32 channel table, attention at 16x16.
model = dict(
    type='SAGAN',
    data_preprocessor=dict(type='DataPreprocessor'),  # uint8 [0, 255] -> [-1, 1]
    num_classes=10,
    generator=dict(
        type='SAGANGenerator',
        output_scale=32,
        noise_size=128,
        base_channels=64,  # 256 channels at every stage
        attention_at=(16, )),
    discriminator=dict(type='SAGANDiscriminator', input_scale=32, base_channels=64, attention_at=(16, )),
    gan_loss=dict(type='SAGANHingeLoss'),
    discriminator_steps=1)
