"""sagan_plugin: SAGAN (Zhang et al., ICML 2019, arXiv 1805.08318) as an OpenMMLab / mmagic plugin.

Importing the package registers every component in the ``sagan_plugin`` scope (see ``registry.py``) and
allow-lists the few non-tensor types an MMEngine runner checkpoint holds, so that ``--resume`` works on
torch >= 2.6 without ``weights_only=False``.
"""
__version__ = '0.1.0'

import os  # noqa: E402

# albumentations (imported by mmagic) checks PyPI for updates at import; offline clusters only need the wait.
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

from . import apis  # noqa: E402,F401  (sampling, interpolation and attention-map API)
from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers the components)
from .registry import SCOPE  # noqa: E402,F401
