"""Checks, before the first iteration, what only the built model and dataloader together can tell."""
from mmengine.hooks import Hook
from torch.nn.modules.batchnorm import _BatchNorm

from sagan_plugin.registry import HOOKS


@HOOKS.register_module()
class SetupCheckHook(Hook):
    """Before training: the dataset's classes must match the model's ``num_classes``; warn when a batch of
    one meets BatchNorm.

    A conditional model with fewer classes than the dataset fails only when the first out-of-range label is
    drawn (or never, with a shuffled subset); one with more classes trains class embeddings that never see
    data. Both are refused here, naming the two numbers. The model's G/D/model agreement is checked where
    the model is built (``SAGAN``).
    """
    priority = 'VERY_HIGH'  # before any hook that starts work

    def before_train(self, runner) -> None:
        model = getattr(runner.model, 'module', runner.model)
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
