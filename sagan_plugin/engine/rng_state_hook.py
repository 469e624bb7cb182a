"""Puts every process's random-number generator state into runner checkpoints and restores it on resume."""
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook

from sagan_plugin.registry import HOOKS


def get_rng_state() -> dict:
    """This process's torch (CPU and CUDA), numpy and Python RNG state, as tensors and plain Python values
    (so that a checkpoint holding it loads with ``torch.load(weights_only=True)``)."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return dict(
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        numpy=(name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss),
        python=random.getstate())


def set_rng_state(state: dict) -> None:
    """Restore a state from :func:`get_rng_state`."""
    torch.set_rng_state(state['torch'])
    if state['cuda'] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
    name, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state['python'])


def seed_from(state: dict, rank: int) -> int:
    """A seed for ``rank`` derived from a saved state: the same for the same state and rank, different for
    different ranks (the first draw of the saved torch stream, plus the rank)."""
    generator = torch.Generator().set_state(state['torch'])
    return int(torch.randint(2**31, (1, ), generator=generator)) + rank


def seed_all(seed: int) -> None:
    """Seed torch (every device), numpy and Python."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves each process's torch (CPU and CUDA), numpy and Python RNG state with each checkpoint; restores
    it when training continues from a checkpoint (``--resume`` or ``load_from``).

    MMEngine's checkpoints hold model, optimizers, schedulers and message hub but not the RNG state, so a
    resumed GAN would draw different z and y than an uninterrupted run. Each process draws its own z and y
    (``randomness.diff_rank_seed``), so each keeps its own stream: the checkpoint holds ``rng_state`` (rank
    0's, as single-process checkpoints always did) and ``rng_state_per_rank`` (one state per process), and
    on resume rank r continues with state r, bit for bit. A resume with another number of processes than
    saved continues the saved ranks that still exist and seeds the others from the saved rank-0 state and
    their rank (distinct, reproducible), with a warning. The state is applied in ``before_train``, after
    MMEngine's resume (which may re-seed) and after the other hooks' start-up, so nothing consumes it
    before the first iteration. Evaluation draws from its own generator (see ``GeneratedImageMetric``), so
    loading a checkpoint for testing does not touch these streams.
    """
    priority = 'VERY_LOW'

    def __init__(self):
        self._per_rank: Optional[List[dict]] = None  # every rank's state at the save in progress
        self._loaded: Optional[dict] = None  # the checkpoint's states, applied in before_train

    def before_run(self, runner) -> None:
        if get_world_size() > 1:
            # Runner.save_checkpoint runs its before_save_checkpoint hooks on the main process only, but
            # every caller (the checkpoint hooks) calls it on every rank: gather there, at the save itself.
            save = runner.save_checkpoint

            def gather_then_save(*args, **kwargs):
                self._per_rank = all_gather_object(get_rng_state())
                return save(*args, **kwargs)

            runner.save_checkpoint = gather_then_save

    def after_run(self, runner) -> None:
        runner.__dict__.pop('save_checkpoint', None)  # the Runner's own method again

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = get_rng_state()
        checkpoint['rng_state_per_rank'] = self._per_rank or [checkpoint['rng_state']]
        self._per_rank = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = dict(
            rng_state=checkpoint.get('rng_state'), rng_state_per_rank=checkpoint.get('rng_state_per_rank'))

    def before_train(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is None:  # a fresh run: the streams start from randomness.seed
            return
        if loaded['rng_state'] is None:  # a checkpoint from a run without this hook
            runner.logger.warning('checkpoint has no rng_state; random streams restart from the seed')
            return
        states = loaded['rng_state_per_rank']
        if states is None and get_world_size() > 1:  # written before each process's state was saved
            runner.logger.warning('checkpoint holds only rank 0\'s random state (no rng_state_per_rank)')
        self.restore(runner, states or [loaded['rng_state']])

    @staticmethod
    def restore(runner, states: List[dict]) -> None:
        """Rank r continues ``states[r]``; a rank beyond the saved ones is seeded from ``states[0]`` and r."""
        rank, world_size = get_rank(), get_world_size()
        kept = min(len(states), world_size)
        if len(states) != world_size:
            derived = (
                f', rank(s) {kept}..{world_size - 1} are seeded from the saved rank-0 state plus their '
                'rank (distinct streams, but not those an uninterrupted run would have drawn)')
            runner.logger.warning(
                f'checkpoint holds the random state of {len(states)} process(es), this run has {world_size}: '
                f'rank(s) 0..{kept - 1} continue their saved streams' +
                (derived if world_size > kept else ''))
        if rank < len(states):
            set_rng_state(states[rank])
        else:
            seed_all(seed_from(states[0], rank))
