"""One test per reach of ``sagan_plugin/compat.py`` into a library's private API: each fails naming the
library, its installed version and what changed, so that a version bump breaks here and not somewhere in
training."""
import ast
import importlib
import inspect
import pickle
import textwrap
from importlib.metadata import version

import numpy as np
import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.logging import HistoryBuffer
from mmengine.optim import AmpOptimWrapper
from mmengine.runner import Runner
from torch import nn
from torch.nn.utils import spectral_norm
from torch.nn.utils.spectral_norm import SpectralNorm

from sagan_plugin import compat


def changed(library: str, what: str) -> str:
    return f'{library} {version(library)}: {what}; sagan_plugin/compat.py relies on it, update it there'


def self_attributes(function, assigned: bool) -> set:
    """Names ``x`` of ``self.x`` that ``function``'s source assigns (or reads)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    context = ast.Store if assigned else ast.Load
    return {
        node.attr
        for node in ast.walk(tree) if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id == 'self' and isinstance(node.ctx, context)
    }


def calls(function) -> set:
    """Names ``m`` of the ``self.m(...)`` calls in ``function``'s source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {
        node.func.attr
        for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name) and node.func.value.id == 'self'
    }


def test_runner_load_request_reads_what_load_or_resume_reads():
    read = self_attributes(Runner.load_or_resume, assigned=False)
    assert {'_resume', '_load_from'} <= read, changed(
        'mmengine', f'Runner.load_or_resume reads {sorted(read)}, no longer _resume and _load_from')
    runner = object.__new__(Runner)  # the two attributes only, no config
    runner._resume, runner._load_from = True, None
    compat.set_runner_load_from(runner, 'work_dir/iter_2.pth')
    assert compat.runner_load_request(runner) == (True, 'work_dir/iter_2.pth')


def test_step_checkpoint_hook_overrides_the_method_every_periodic_save_calls():
    assert 'save_checkpoint_with_step' in {c.lstrip('_') for c in calls(CheckpointHook._save_checkpoint)}, \
        changed('mmengine', 'CheckpointHook._save_checkpoint no longer calls _save_checkpoint_with_step')
    parameters = list(inspect.signature(CheckpointHook._save_checkpoint_with_step).parameters)
    assert parameters == ['self', 'runner', 'step',
                          'meta'], changed('mmengine',
                                           f'CheckpointHook._save_checkpoint_with_step takes {parameters}')
    saved = []

    class Recording(compat.StepCheckpointHook):

        def save_step(self, runner, step, meta):
            saved.append((step, meta))

    Recording(interval=1)._save_checkpoint_with_step(None, 3, {'iter': 3})
    assert saved == [(3, {'iter': 3})]


def test_save_checkpoint_now_calls_what_after_train_iter_calls():
    assert '_save_checkpoint' in calls(CheckpointHook.after_train_iter), changed(
        'mmengine', 'CheckpointHook.after_train_iter no longer saves through _save_checkpoint(runner)')
    assert list(inspect.signature(CheckpointHook._save_checkpoint).parameters) == ['self', 'runner'], \
        changed('mmengine', 'CheckpointHook._save_checkpoint takes other arguments')


def test_amp_wrapper_on_cpu_sets_every_attribute_the_skipped_constructor_sets():
    own = self_attributes(AmpOptimWrapper.__init__, assigned=True)
    assert own <= {'_scale_update_param', 'loss_scaler', 'cast_dtype'}, changed(
        'mmengine', f'AmpOptimWrapper.__init__ now also sets {sorted(own - {"_scale_update_param"})}')
    assert '_scale_update_param' in self_attributes(
        AmpOptimWrapper.step,
        assigned=False), changed('mmengine', 'AmpOptimWrapper.step no longer reads _scale_update_param')
    wrapper = object.__new__(AmpOptimWrapper)
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scaler = torch.amp.GradScaler('cpu', enabled=False)
    compat.init_amp_wrapper_on_cpu(
        wrapper, loss_scaler=scaler, cast_dtype=torch.bfloat16, optimizer=optimizer)
    assert wrapper.optimizer is optimizer and wrapper.loss_scaler is scaler
    assert wrapper.cast_dtype == torch.bfloat16


def test_adam_gather_hook_sees_the_lists_the_update_takes():
    parameters = list(inspect.signature(torch.optim.Adam._init_group).parameters)
    expected = ['self', 'group', 'params_with_grad', 'grads', 'exp_avgs', 'exp_avg_sqs', 'max_exp_avg_sqs']
    expected.append('state_steps')
    assert parameters == expected, changed('torch', f'Adam._init_group takes {parameters}')
    seen = []

    class Recording(compat.AdamGatherHook):

        def before_gather(self, group):
            seen.append(len(group['params']))

        def after_gather(self, *lists):
            seen.append([len(tensors) for tensors in lists])

    weight = nn.Parameter(torch.ones(3))
    weight.grad = torch.ones(3)
    Recording([weight], lr=0.1).step()
    assert seen == [1, [1, 1, 1, 1, 0]], changed('torch', f'Adam.step gathers {seen}')


def test_history_buffer_methods_are_restored():
    assert isinstance(HistoryBuffer.__dict__.get('_statistics_methods'),
                      dict), changed('mmengine', 'HistoryBuffer has no class-wide _statistics_methods dict')
    before = dict(HistoryBuffer._statistics_methods)
    with compat.history_buffer_methods_kept():
        HistoryBuffer.register_statistics(lambda self: 0.0)
        assert HistoryBuffer._statistics_methods != before, changed(
            'mmengine', 'HistoryBuffer.register_statistics no longer writes _statistics_methods')
    assert HistoryBuffer._statistics_methods == before


def test_spectral_norm_hook_is_found_and_its_class_replaced():

    class Sub(SpectralNorm):
        pass

    layer = spectral_norm(nn.Linear(3, 2), eps=1e-7)
    hooks = compat.spectral_norm_hooks(layer)
    assert len(hooks) == 1 and hooks[0].eps == 1e-7, changed(
        'torch', 'spectral_norm no longer keeps its hook in Module._forward_pre_hooks')
    keys = set(layer.state_dict())
    compat.replace_spectral_norm_hook(layer, Sub)
    assert type(compat.spectral_norm_hooks(layer)[0]) is Sub and set(layer.state_dict()) == keys
    layer(torch.ones(1, 3))  # the replaced hook runs


def test_numpy_pickles_arrays_through_the_allow_listed_globals():
    data = pickle.dumps([np.zeros(2, dtype=np.float32), np.float64(1)], protocol=2)  # as a runner pickles
    for function in compat.NUMPY_ARRAY_PICKLE_GLOBALS:
        assert function.__name__.encode() in data, changed('numpy',
                                                           f'arrays pickle without {function.__name__}')


@pytest.mark.parametrize('metric_class', ['FrechetInceptionDistance', 'InceptionScore'])
def test_mmagic_metric_takes_its_network_from_load_inception(metric_class, tmp_path):
    """mmagic's constructor builds the metric's network through ``_load_inception``; else it would load (or
    download) its own, not ours."""
    network, missing = nn.Identity(), str(tmp_path / 'no_such.pt')
    base = getattr(importlib.import_module('mmagic.evaluation'), metric_class)
    Metric = type('Metric', (compat.OwnMetricNetwork, base), dict(build_network=lambda self, path: network))
    try:
        metric = Metric(fake_nums=2, inception_path=missing)
    except Exception as err:  # mmagic's own loader ran, and failed on the missing file
        raise AssertionError(
            changed(
                'mmagic', f'{metric_class} no longer builds its network through '
                f'_load_inception ({type(err).__name__}: {err})')) from err
    assert metric.inception is network and metric.inception_style == 'StyleGAN', changed(
        'mmagic', f'{metric_class} no longer keeps the (inception, inception_style) of _load_inception')
