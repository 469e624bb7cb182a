"""sagan_plugin: SAGAN (Zhang et al., ICML 2019, arXiv 1805.08318) as an OpenMMLab / mmagic plugin.

Layers (a module imports from its own layer or those below only; ``tests/test_layers.py`` checks it)::

    apis, converters           use a trained model: sampling, figures, checkpoint conversion
      ↓
    engine                     training: hooks, optimizers, checkpoint files, launch helpers
      ↓
    visualization              attention maps and figures, image grids (for hooks and apis alike)
      ↓
    datasets, evaluation       data and metrics
      ↓
    models                     networks, the SAGAN model, sampling basics (``models/sampling.py``)
      ↓
    registry, compat           the registry tree; every reach into a library's private API

As in mmagic, training never depends on the user API: a training run imports nothing above ``engine``, and
``apis`` may use everything the engine checks (reading a checkpoint); what both need to draw sits below both.

``import sagan_plugin`` registers the components of models, datasets, evaluation and engine in the
``sagan_plugin`` scope (``registry.py``); mmagic's own modules are imported by the registries on first lookup,
and ``sagan_plugin.apis`` only when imported. One process-wide setting is made, because a config's
``custom_imports=['sagan_plugin']`` is the only code that runs before MMEngine's runner loads a checkpoint:

* ``engine/safe_checkpoint.py``: a pickling reducer for MMEngine's ``HistoryBuffer``, and exactly the types a
  runner checkpoint then holds added to torch's ``weights_only`` allow-list, so ``--resume`` works with
  torch's secure loading (``weights_only=True``); anything else in a checkpoint is still refused.
"""
__version__ = '0.1.0'

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registers the components)
from .registry import SCOPE  # noqa: E402,F401
