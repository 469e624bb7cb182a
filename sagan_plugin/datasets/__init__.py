"""Registered components; importing this package registers them."""
from . import balanced_sampler  # noqa: F401
from . import fashion_mnist  # noqa: F401
from . import image_folder  # noqa: F401
from . import imagenet  # noqa: F401
