# SAGAN §4-5: TTUR instead of several D steps per G step; one Adam per network (the constructor's defaults).
# A child config overrides these keys (short form), or writes mmagic's form instead, e.g.
#   optim_wrapper = dict(_delete_=True, constructor='TTUROptimWrapperConstructor',
#                        generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.0, 0.999))),
#                        discriminator=dict(optimizer=dict(type='Adam', lr=4e-4, betas=(0.0, 0.999))))
# (_delete_ drops the short-form keys below; the constructor refuses a mix of the two forms).
optim_wrapper = dict(
    constructor='TTUROptimWrapperConstructor',  # sagan_plugin: G and D optimizer wrappers from one config
    generator_lr=1e-4,  # paper: 1e-4
    discriminator_lr=4e-4,  # paper: 4e-4
    betas=(0.0, 0.9))  # paper: Adam beta1=0, beta2=0.9 (mmagic/BigGAN code: 0.999)
