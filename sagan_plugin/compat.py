"""Every reach into a library's private API, each with why; tests/test_compat.py fails loudly when one
changes.

Imports nothing of this package, so every layer may use it. Nothing outside this module names a private
attribute of MMEngine, mmagic, torch or numpy (tests/test_layers.py counts them). Each reach states the
version it was written against; its test names the library and the installed version when it no longer holds.
"""
import contextlib
from typing import Iterator, List, Optional, Tuple

import numpy as np
import torch
from mmengine.hooks import CheckpointHook
from mmengine.logging import HistoryBuffer
from mmengine.optim import OptimWrapper
from torch import nn
from torch.nn.utils.spectral_norm import SpectralNorm

# numpy < 2 pickles arrays through these two; a runner checkpoint holds arrays, so safe loading must allow
# them by name (why private: numpy's pickle protocol names them, there is no public alias).
NUMPY_ARRAY_PICKLE_GLOBALS = (np.core.multiarray._reconstruct, np.core.multiarray.scalar)


def runner_load_request(runner) -> Tuple[bool, Optional[str]]:
    """(resume, load_from) as the runner will act on them in ``load_or_resume``.

    Why private: MMEngine 0.10.7 keeps both only as ``Runner._resume`` / ``Runner._load_from`` (the config may
    differ: ``tools/train.py --resume`` and ``auto`` resolution change them) and no hook receives them.
    """
    return runner._resume, runner._load_from


def set_runner_load_from(runner, path: Optional[str]) -> None:
    """Make ``Runner.load_or_resume`` (which runs after ``before_run``) load ``path``.

    Why private: MMEngine 0.10.7 resolves ``resume=True`` from ``last_checkpoint`` relative to the cwd and
    trusts it; the only way to give it the verified file is its ``_load_from`` attribute.
    """
    runner._load_from = path


class StepCheckpointHook(CheckpointHook):
    """MMEngine's ``CheckpointHook`` whose save of one step is :meth:`save_step` (a subclass writes it).

    Why private: MMEngine 0.10.7's every periodic and best save goes through
    ``CheckpointHook._save_checkpoint_with_step(runner, step, meta)``, which deletes the oldest checkpoint
    before writing the new one; no public hook point replaces that order.
    """

    def save_step(self, runner, step: int, meta: dict) -> None:
        raise NotImplementedError

    def _save_checkpoint_with_step(self, runner, step, meta):
        self.save_step(runner, step, meta)


def save_checkpoint_now(hook: CheckpointHook, runner) -> None:
    """Save the current iteration as ``hook``'s own interval would (same name, rotation, pointer, meta).

    Why private: MMEngine 0.10.7's CheckpointHook has no public "save now"; ``_save_checkpoint`` is what its
    ``after_train_iter`` calls.
    """
    hook._save_checkpoint(runner)


def init_amp_wrapper_on_cpu(wrapper: OptimWrapper, loss_scaler, cast_dtype: torch.dtype, **kwargs) -> None:
    """Construct an ``AmpOptimWrapper`` subclass instance on CPU: ``OptimWrapper``'s constructor and the
    attributes MMEngine's ``AmpOptimWrapper`` methods read.

    Why private: MMEngine 0.10.7's ``AmpOptimWrapper.__init__`` asserts a GPU-like device, so it is skipped,
    and its ``step`` reads ``_scale_update_param`` (None: let the scaler choose, as ``loss_scale='dynamic'``).
    """
    OptimWrapper.__init__(wrapper, **kwargs)
    wrapper._scale_update_param = None
    wrapper.loss_scaler = loss_scaler
    wrapper.cast_dtype = cast_dtype


class AdamGatherHook(torch.optim.Adam):
    """``torch.optim.Adam`` with two hook points around the gathering of a parameter group's tensors:
    :meth:`before_gather` (the group) and :meth:`after_gather` (the lists the update function receives).

    Why private: torch 2.13's Adam gathers them in ``_init_group``, the one place that sees them before the
    (fused or foreach) kernel; no public hook exposes the lists.
    """

    def before_gather(self, group: dict) -> None:
        pass

    def after_gather(self, *tensor_lists: list) -> None:
        pass

    def _init_group(self, group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps):
        self.before_gather(group)
        has_complex = super()._init_group(group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                                          state_steps)
        self.after_gather(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs)
        return has_complex


@contextlib.contextmanager
def history_buffer_methods_kept() -> Iterator[None]:
    """Restore MMEngine's class-wide table of ``HistoryBuffer`` statistics methods on exit.

    Why private: unpickling a plain MMEngine 0.10.7 checkpoint's ``HistoryBuffer`` writes its methods into the
    class attribute ``HistoryBuffer._statistics_methods``, which the running process's message hub reads.
    """
    methods = dict(HistoryBuffer._statistics_methods)
    try:
        yield
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(methods)


def spectral_norm_hooks(layer: nn.Module) -> List[SpectralNorm]:
    """The ``SpectralNorm`` hooks (``torch.nn.utils.spectral_norm``'s, or a subclass) on ``layer`` itself.

    Why private: torch 2.13 keeps the hook object only in ``layer._forward_pre_hooks``; its ``eps`` and
    ``n_power_iterations`` are nowhere else.
    """
    return [hook for hook in layer._forward_pre_hooks.values() if isinstance(hook, SpectralNorm)]


def replace_spectral_norm_hook(layer: nn.Module, hook_class: type) -> None:
    """Turn the ``SpectralNorm`` hook that ``torch.nn.utils.spectral_norm`` put on ``layer`` into a
    ``hook_class`` (a subclass adding no state): only its class changes, so the state-dict hooks that hold the
    same object follow.

    Why private: ``SpectralNorm.apply`` (torch 2.13) builds the hook with a hard-coded class and registers its
    state-dict hooks through private methods, so the object is reached through :func:`spectral_norm_hooks`.
    """
    hooks = [hook for hook in spectral_norm_hooks(layer) if type(hook) is SpectralNorm]
    if len(hooks) != 1:
        raise ValueError(f'{type(layer).__name__} has {len(hooks)} torch SpectralNorm hooks, expected 1')
    hooks[0].__class__ = hook_class


class OwnMetricNetwork:
    """Mixin for mmagic's FrechetInceptionDistance / InceptionScore: their network is
    ``self.build_network``'s.

    Why private: mmagic 1.2 builds it in ``__init__`` through ``_load_inception`` (a download when the file is
    missing) and no argument skips that.
    """

    def build_network(self, path: Optional[str]) -> nn.Module:
        raise NotImplementedError

    def _load_inception(self, inception_style: str, inception_path: Optional[str]) -> Tuple[nn.Module, str]:
        return self.build_network(inception_path).eval(), 'StyleGAN'
