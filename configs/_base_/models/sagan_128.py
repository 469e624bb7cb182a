# SAGAN at 128x128 as in the paper: SN in G and D, class-conditional BN in G, projection D, hinge loss.
model = dict(
    type='SAGAN',
    data_preprocessor=dict(type='DataPreprocessor'),  # mmagic's: uint8 [0, 255] -> [-1, 1]
    num_classes=1000,
    generator=dict(
        type='SAGANGenerator',
        output_scale=128,
        noise_size=128,
        base_channels=64,  # channels 1024,1024,512,256,128,64 from 4x4 to 128x128
        attention_at=(64, ),  # paper Table 1: feat64 (FID 18.65) / feat32 (18.28)
        attention_variant='paper'),  # 'paper': f,g,h at C/8; 'pooled': the released code's variant
    discriminator=dict(
        type='SAGANDiscriminator',
        input_scale=128,
        base_channels=64,
        attention_at=(64, ),
        attention_variant='paper'),
    gan_loss=dict(type='SAGANHingeLoss'),
    discriminator_steps=1)  # n_dis = 1: TTUR replaces extra D steps; no EMA: the paper reports the raw G
