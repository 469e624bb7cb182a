# SAGAN §4-5: TTUR instead of several D steps per G step.
optim_wrapper = dict(
    constructor='TTUROptimWrapperConstructor',
    generator_lr=1e-4,  # paper: 1e-4
    discriminator_lr=4e-4,  # paper: 4e-4
    betas=(0.0, 0.9))  # paper: Adam beta1=0, beta2=0.9 (mmagic/BigGAN code: 0.999)
