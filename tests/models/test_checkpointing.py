"""``with_cp`` and G's ``recompute_activations``: a checkpointed network computes the same outputs, gradients
and state updates (SN's u and v, BatchNorm's running statistics) as the plain one, and keeps fewer activations
for backward."""
import weakref

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from sagan_plugin.models.checkpointing import is_recomputing
from sagan_plugin.registry import MODELS

NETWORKS = {  # name -> (config, input maker); attention at 16 px, conditional, as the demo
    'generator': (dict(type='SAGANGenerator', output_scale=32, num_classes=10, noise_size=16,
                       channels=(32, 16, 16, 8), attention_at=(16, )), lambda: (torch.randn(6, 16), )),
    'discriminator': (dict(type='SAGANDiscriminator', input_scale=32, num_classes=10,
                           channels=(8, 16, 16, 32), attention_at=(16, )),
                      lambda: (torch.rand(6, 3, 32, 32) * 2 - 1, )),
}

CASES = [('discriminator', 'with_cp'), ('generator', 'with_cp'), ('generator', 'recompute_activations')]


def pair(name: str, device: str = 'cpu', switch: str = 'with_cp'):
    """The network without and with ``switch`` on, same weights and buffers, and one input batch."""
    cfg, make_input = NETWORKS[name]
    torch.manual_seed(0)
    plain = MODELS.build(cfg).to(device)
    checkpointed = MODELS.build(dict(cfg, **{switch: True})).to(device)
    checkpointed.load_state_dict(plain.state_dict())
    label = torch.tensor([0, 1, 2, 3, 9, 9])
    return plain, checkpointed, tuple(x.to(device) for x in (*make_input(), label))


def forward_backward(network: nn.Module, inputs, dtype=None) -> torch.Tensor:
    """Two training forwards (the GAN pattern: u, v update twice) and one backward of the second."""
    with torch.autocast(inputs[0].device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        network(*inputs)
        out = network(*inputs)
    (out.float()**2).mean().backward()
    return out


def assert_same_as_plain(name: str,
                         dtype=None,
                         device: str = 'cpu',
                         rtol: float = 1e-5,
                         atol: float = 1e-7,
                         switch: str = 'with_cp'):
    """Checkpointed and plain network: bit-equal outputs and state, gradients to ``rtol``/``atol``."""
    plain, checkpointed, inputs = pair(name, device, switch)
    ref = forward_backward(plain, inputs, dtype)
    out = forward_backward(checkpointed, inputs, dtype)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    for (key, p), q in zip(plain.named_parameters(), checkpointed.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=rtol, atol=atol, msg=key)
    # u, v (one power iteration per forward, none in the recompute), BN running stats and batch counts
    for (key, b), c in zip(plain.named_buffers(), checkpointed.buffers()):
        torch.testing.assert_close(c, b, rtol=0, atol=0, msg=key)


@pytest.mark.parametrize('dtype', [None, torch.bfloat16], ids=['fp32', 'bf16'])
@pytest.mark.parametrize('name,switch', CASES)
def test_same_outputs_gradients_and_state(name, switch, dtype):
    assert_same_as_plain(name, dtype, switch=switch)


class LiveStorages(TorchDispatchMode):
    """Records every storage an op creates while the mode is on, and forgets it when it is freed."""

    def __init__(self):
        super().__init__()
        self.live, self.ops = {}, []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(func)
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in self.live:
                storage = t.untyped_storage()
                self.live[storage.data_ptr()] = storage.nbytes()
                weakref.finalize(storage, self.live.pop, storage.data_ptr(), None)
        return out


def kept_bytes(network: nn.Module, inputs) -> int:
    """Bytes a training forward leaves alive (its output and what autograd keeps for backward)."""
    with LiveStorages() as mode:
        out = network(*inputs)
        kept = sum(mode.live.values())
    del out
    return kept


@pytest.mark.parametrize('name,switch,most', [(*case, most) for case, most in zip(CASES, (0.5, 0.5, 0.6))])
def test_keeps_fewer_activations(name, switch, most):
    plain, checkpointed, inputs = pair(name, switch=switch)
    assert kept_bytes(checkpointed, inputs) < most * kept_bytes(plain, inputs)


def test_recompute_activations_does_not_rerun_the_convs():
    """Only BN, ReLU and the like run twice: torch's re-run stops when the conv has saved its input."""
    plain, recomputing, inputs = pair('generator', switch='recompute_activations')
    counts = []
    for network in (plain, recomputing):
        with LiveStorages() as mode:
            network(*inputs).sum().backward()
        counts.append([
            sum(op is getattr(torch.ops.aten, name).default for op in mode.ops)
            for name in ('convolution', 'native_batch_norm')
        ])
    (plain_convs, plain_bns), (convs, bns) = counts
    assert convs == plain_convs and bns == 2 * plain_bns


def test_no_checkpointing_without_gradients():
    """Sampling (no_grad) and evaluation run the blocks once: nothing is re-run, nothing recorded."""
    _, checkpointed, inputs = pair('generator')
    with torch.no_grad():
        assert not checkpointed(*inputs).requires_grad
    assert not is_recomputing()
