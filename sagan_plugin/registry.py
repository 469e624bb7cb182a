"""The plugin's registries: children of mmagic's, in scope ``sagan_plugin``.

This is the only module that knows the registry tree::

    mmengine (root)  ->  mmagic (scope 'mmagic')  ->  sagan_plugin (scope 'sagan_plugin')

A lookup searches its own registry first, then the parents. So with ``default_scope='sagan_plugin'``
``type='SAGANGenerator'`` finds ours, while names we do not define (``VisualizationHook``,
``FrechetInceptionDistance``, ``DataPreprocessor``, ...) fall through to mmagic and mmengine. From an
mmagic-scoped config, ``type='sagan_plugin.SAGANGenerator'`` names ours explicitly. We never register with
``force=True``, so mmagic's own ``SAGAN``/``SAGANGenerator`` stay intact in their scope.

``locations`` lets a registry import the module that defines a type the first time it is built.
"""
from mmagic import registry as mmagic_registry
from mmengine.registry import Registry

SCOPE = 'sagan_plugin'


class ChildRegistry(Registry):
    """A registry whose first lookup also imports its parent's modules.

    MMEngine's child registry looks a name up in its parent's table without importing the parent's
    ``locations``, so mmagic's types (VisualizationHook, metrics, transforms, ...) would be missing unless all
    of mmagic were imported up front (``mmagic.utils.register_all_modules``). Here the first lookup imports
    exactly the mmagic package that registry needs (e.g. ``mmagic.engine`` for hooks), through the public
    ``import_from_location`` of the parent.
    """

    def import_from_location(self) -> None:
        self.parent.import_from_location()
        super().import_from_location()


def _child(name: str, location: str) -> Registry:
    """A child of mmagic's registry ``name``, importing ``location`` (and the parent's) on first lookup."""
    parent = getattr(mmagic_registry, name)
    return ChildRegistry(parent.name, parent=parent, scope=SCOPE, locations=[f'{SCOPE}.{location}'])


MODELS = _child('MODELS', 'models')
DATASETS = _child('DATASETS', 'datasets')
TRANSFORMS = _child('TRANSFORMS', 'datasets')
DATA_SAMPLERS = _child('DATA_SAMPLERS', 'datasets')
HOOKS = _child('HOOKS', 'engine')
LOOPS = _child('LOOPS', 'engine')
RUNNERS = _child('RUNNERS', 'engine')
OPTIMIZERS = _child('OPTIMIZERS', 'engine')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS', 'engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS', 'engine')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS', 'engine')
LOG_PROCESSORS = _child('LOG_PROCESSORS', 'engine')
METRICS = _child('METRICS', 'evaluation')
EVALUATORS = _child('EVALUATORS', 'evaluation')
VISUALIZERS = _child('VISUALIZERS', 'engine')
VISBACKENDS = _child('VISBACKENDS', 'engine')
