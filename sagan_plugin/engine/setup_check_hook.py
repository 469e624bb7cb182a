"""Checks, before the first iteration, what only the built model and dataloader together can tell."""
from operator import attrgetter

from mmengine.hooks import Hook
from torch.nn.modules.batchnorm import _BatchNorm

from sagan_plugin.models.spectral_norm import has_spectral_norm
from sagan_plugin.registry import HOOKS


@HOOKS.register_module()
class SetupCheckHook(Hook):
    """Before training: the dataset's classes must match the model's ``num_classes``; warn when a batch of
    one meets BatchNorm.

    A conditional model with fewer classes than the dataset fails only when the first out-of-range label is
    drawn (or never, with a shuffled subset); one with more classes trains class embeddings that never see
    data. Both are refused here, naming the two numbers. The model's G/D/model agreement is checked where
    the model is built (``SAGAN``).

    MMEngine's ``activation_checkpointing`` config key is refused for modules with spectral norm or
    BatchNorm: its reentrant checkpoint re-runs their updates and can drop gradients
    (:mod:`sagan_plugin.models.checkpointing`); the networks' ``with_cp=True`` is the safe form.
    """
    priority = 'VERY_HIGH'  # before any hook that starts work

    def before_train(self, runner) -> None:
        model = getattr(runner.model, 'module', runner.model)
        self._check_activation_checkpointing(runner.cfg.get('activation_checkpointing'), model)
        loader = runner.train_dataloader
        dataset = loader.dataset
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        num_classes = getattr(model, 'num_classes', None)
        if num_classes and classes is not None and len(classes) != num_classes:
            raise ValueError(
                f'model.num_classes={num_classes} but train_dataloader.dataset ({type(dataset).__name__}) '
                f'has {len(classes)} classes: set model.num_classes={len(classes)}, or give the dataset '
                f'metainfo=dict(classes=[...]) with {num_classes} names')
        if loader.batch_size == 1 and any(isinstance(m, _BatchNorm) for m in model.modules()):
            runner.logger.warning(
                'train_dataloader.batch_size=1 with BatchNorm in the model: batch statistics from one image '
                'per process are noisy and differ from the running averages used at test time; use >= 8 '
                '(or SyncBatchNorm across processes)')

    @staticmethod
    def _check_activation_checkpointing(names, model) -> None:
        for name in [names] if isinstance(names, str) else names or []:
            module = attrgetter(name)(model)
            if any(has_spectral_norm(m) or isinstance(m, _BatchNorm) for m in module.modules()):
                raise ValueError(
                    f'activation_checkpointing=[{name!r}]: MMEngine wraps it in a reentrant checkpoint, '
                    'which re-runs the spectral-norm and BatchNorm updates in backward and drops the '
                    'gradients of a block whose input needs none; set model.generator.with_cp=True and/or '
                    'model.discriminator.with_cp=True instead (the same saving, checkpointed safely)')
