"""Registered models; importing this package registers them."""
from . import ema, hinge_loss, sagan  # noqa: F401
from .discriminator import SAGANDiscriminator  # noqa: F401
from .generator import SAGANGenerator  # noqa: F401
from .self_attention import SelfAttentionBlock  # noqa: F401
