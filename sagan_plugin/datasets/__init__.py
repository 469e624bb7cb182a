"""Registered components; importing this package registers them."""
from . import fashion_mnist  # noqa: F401
from . import imagenet  # noqa: F401
