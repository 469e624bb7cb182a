"""Puts the random-number generators' state into runner checkpoints and restores it on ``--resume``."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from sagan_plugin.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves torch (CPU and CUDA), numpy and Python RNG state with each checkpoint; restores it on resume.

    MMEngine's checkpoints hold model, optimizers, schedulers and message hub but not the RNG state, so a
    resumed GAN would draw different z and y than an uninterrupted run. The state is stored as tensors and
    plain Python values only, so the checkpoint still loads with ``torch.load(weights_only=True)``.
    """
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        name, keys, pos, has_gauss, gauss = np.random.get_state()
        checkpoint['rng_state'] = dict(
            torch=torch.get_rng_state(),
            cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            numpy=(name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss),
            python=random.getstate())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None:  # a checkpoint from a run without this hook: nothing to restore
            runner.logger.warning('checkpoint has no rng_state; random streams restart from the seed')
            return
        torch.set_rng_state(state['torch'])
        if state['cuda'] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
        name, keys, pos, has_gauss, gauss = state['numpy']
        np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        random.setstate(state['python'])
