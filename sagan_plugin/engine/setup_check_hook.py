"""Checks, before the first iteration, what only the built model and dataloader together can tell."""
from operator import attrgetter

from mmengine.dataset import InfiniteSampler
from mmengine.hooks import Hook

from sagan_plugin.models.sampling import unwrap
from sagan_plugin.models.spectral_norm import has_spectral_norm
from sagan_plugin.models.standing_stats import BATCH_NORMS
from sagan_plugin.registry import HOOKS


@HOOKS.register_module()
class SetupCheckHook(Hook):
    """Before training: the dataset's classes must match the model's ``num_classes``; warn when a batch of
    one image per process (the batch size, or an epoch's last batch) meets BatchNorm.

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
        model = unwrap(runner.model)
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
        self._warn_batches_of_one(runner, model)

    @staticmethod
    def _warn_batches_of_one(runner, model) -> None:
        """BatchNorm in training normalises each process's batch by that batch's own mean and variance: with
        one image they are the image's own, noisy and unlike the running averages used at test time. Said for
        a per-process batch of 1, and for a last batch of 1 each epoch (a sampler that ends, no drop_last)."""
        norms = [name for name, module in model.named_modules() if isinstance(module, BATCH_NORMS)]
        loader = runner.train_dataloader
        batch = loader.batch_size or getattr(loader.batch_sampler, 'batch_size', None)  # or a batch sampler's
        if not norms or not batch:
            return
        why = (
            f'with BatchNorm in the model ({len(norms)} layers, e.g. {norms[0]}): batch statistics from one '
            'image per process are noisy and differ from the running averages used at test time')
        if batch == 1:
            runner.logger.warning(f'train_dataloader.batch_size=1 {why}; use >= 8 per process (or '
                                  'SyncBatchNorm across processes)')
        elif (loader.batch_size and not loader.drop_last and not isinstance(loader.sampler, InfiniteSampler)
              and len(loader.sampler) % batch == 1):
            runner.logger.warning(
                f'train_dataloader: {len(loader.sampler)} images per process in batches of {batch} end each '
                f'epoch with a batch of 1 image, {why}; set train_dataloader.drop_last=True')

    @staticmethod
    def _check_activation_checkpointing(names, model) -> None:
        for name in [names] if isinstance(names, str) else names or []:
            module = attrgetter(name)(model)
            if any(has_spectral_norm(m) or isinstance(m, BATCH_NORMS) for m in module.modules()):
                raise ValueError(
                    f'activation_checkpointing=[{name!r}]: MMEngine wraps it in a reentrant checkpoint, '
                    'which re-runs the spectral-norm and BatchNorm updates in backward and drops the '
                    'gradients of a block whose input needs none; set model.generator.with_cp=True and/or '
                    'model.discriminator.with_cp=True instead (the same saving, checkpointed safely)')
