"""Registered engine components; importing this package registers them."""
from . import amp_optim_wrapper  # noqa: F401
from . import atomic_checkpoint_hook  # noqa: F401
from . import attention_visualization_hook  # noqa: F401
from . import channels_last_adam  # noqa: F401
from . import non_finite_guard_hook  # noqa: F401
from . import preemption_hook  # noqa: F401
from . import setup_check_hook  # noqa: F401
from . import rng_state_hook, ttur_optim_wrapper_constructor  # noqa: F401
from .safe_checkpoint import allow_runner_checkpoint_types

allow_runner_checkpoint_types()
