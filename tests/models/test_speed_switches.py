"""Each speed switch leaves the math alone: two training iterations (D step, G step) with and without it give
the same losses and the same gradients at every optimizer step, to float rounding. (Weights after Adam are
not compared element-wise: Adam's first updates are about ±lr, so a near-zero gradient whose sign rounds
differently moves its weight by 2·lr.)"""
import copy

import pytest
import torch
from mmengine import MessageHub
from mmengine.optim import build_optim_wrapper

from sagan_plugin.registry import MODELS
from tests.models.test_sagan import TINY, batch  # noqa: F401  (the fixture: six real Fashion-MNIST images)

SWITCHES = {
    'pooled_conv': (dict(discriminator=dict(pooled_conv=False)), dict(discriminator=dict(pooled_conv=True))),
    'upsampled_conv': (dict(generator=dict(upsampled_conv=False)), dict(generator=dict(upsampled_conv=True))),
    'channels_last': (dict(channels_last=False), dict(channels_last=True)),
    'with_cp': (dict(generator=dict(with_cp=False), discriminator=dict(with_cp=False)),
                dict(generator=dict(with_cp=True), discriminator=dict(with_cp=True))),
    'recompute_activations':
    (dict(generator=dict(recompute_activations=False)), dict(generator=dict(recompute_activations=True))),
    # aot_eager: dynamo's graph capture and AOT autograd, the parts that can change the math, without the
    # minutes inductor's C++ code generation takes on CPU; tests/engine/test_cuda.py compiles with inductor
    'compile': (dict(compile=False), dict(compile=dict(backend='aot_eager'))),
}


def train(cfg: dict, data: dict, device: str = 'cpu'):
    """Two iterations (n_dis = 1: D then G each) from the same weights and random streams (the switches do not
    change how many random numbers building the model draws)."""
    torch.manual_seed(0)
    model = MODELS.build(cfg).to(device)
    # The model switch is under test; fused Adam has its own equality test (test_channels_last_adam.py)
    optim = build_optim_wrapper(model, dict(constructor='TTUROptimWrapperConstructor', fused=False))
    grads = []
    for wrapper in optim.values():  # record what each Adam step receives
        step = wrapper.optimizer.step
        wrapper.optimizer.step = lambda *a, _step=step, **kw: (grads.append(
            [p.grad.clone() for p in model.parameters() if p.grad is not None]), _step(*a, **kw))[1]
    logs = []
    for i in range(2):
        MessageHub.get_current_instance().update_info('iter', i)
        logs.append(model.train_step(copy.deepcopy(data), optim))
    return logs, grads


def merged(changes: dict) -> dict:
    cfg = copy.deepcopy(TINY)
    cfg['discriminator_steps'] = 1
    for key, value in changes.items():
        cfg[key] = {**cfg[key], **value} if key in ('generator', 'discriminator') else value
    return cfg


def assert_same_training(off: dict,
                         on: dict,
                         data: dict,
                         device: str = 'cpu',
                         rtol: float = 1e-4,
                         atol: float = 1e-5) -> None:
    """Two iterations without and with a switch give the same losses (``rtol``/``atol``) and the same
    gradients at each optimizer step (within ``rtol`` of the largest, plus a floor)."""
    ref_logs, ref_grads = train(merged(off), data, device)
    logs, grads = train(merged(on), data, device)
    for ref, got in zip(ref_logs, logs):
        assert ref.keys() == got.keys()
        for key in ref:
            torch.testing.assert_close(got[key], ref[key], rtol=rtol, atol=atol, msg=key)
    assert len(grads) == len(ref_grads) == 4  # D, G, D, G
    for ref_step, step in zip(ref_grads, grads):
        for ref, got in zip(ref_step, step):
            # 1e-5 floor: some gradients are 0 in exact arithmetic (a conv bias feeding BatchNorm): noise here
            assert (got - ref).abs().max() <= rtol * ref.abs().max() + 1e-5


@pytest.mark.parametrize('switch', SWITCHES)
def test_a_training_iteration_is_the_same_with_and_without(switch, batch):  # noqa: F811
    assert_same_training(*SWITCHES[switch], batch)
