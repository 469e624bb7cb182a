"""Registered engine components; importing this package registers them."""
from . import rng_state_hook, ttur_optim_wrapper_constructor  # noqa: F401
from .safe_checkpoint import allow_runner_checkpoint_types

allow_runner_checkpoint_types()
