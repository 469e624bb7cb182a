"""``with_cp``: a checkpointed network computes the same outputs, gradients and state updates (SN's u and v,
BatchNorm's running statistics) as the plain one, and keeps fewer activations for backward."""
import pytest
import torch
from torch import nn

from sagan_plugin.models.checkpointing import is_recomputing
from sagan_plugin.registry import MODELS

NETWORKS = {  # name -> (config, input maker); attention at 16 px, conditional, as the demo
    'generator': (dict(type='SAGANGenerator', output_scale=32, num_classes=10, noise_size=16,
                       channels=(32, 16, 16, 8), attention_at=(16, )), lambda: (torch.randn(6, 16), )),
    'discriminator': (dict(type='SAGANDiscriminator', input_scale=32, num_classes=10,
                           channels=(8, 16, 16, 32), attention_at=(16, )),
                      lambda: (torch.rand(6, 3, 32, 32) * 2 - 1, )),
}


def pair(name: str, device: str = 'cpu'):
    """The network without and with ``with_cp``, same weights and buffers, and one input batch."""
    cfg, make_input = NETWORKS[name]
    torch.manual_seed(0)
    plain = MODELS.build(cfg).to(device)
    checkpointed = MODELS.build(dict(cfg, with_cp=True)).to(device)
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


def assert_same_as_plain(name: str, dtype=None, device: str = 'cpu', rtol: float = 1e-5, atol: float = 1e-7):
    """Checkpointed and plain network: bit-equal outputs and state, gradients to ``rtol``/``atol``."""
    plain, checkpointed, inputs = pair(name, device)
    ref = forward_backward(plain, inputs, dtype)
    out = forward_backward(checkpointed, inputs, dtype)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    for (key, p), q in zip(plain.named_parameters(), checkpointed.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=rtol, atol=atol, msg=key)
    # u, v (one power iteration per forward, none in the recompute), BN running stats and batch counts
    for (key, b), c in zip(plain.named_buffers(), checkpointed.buffers()):
        torch.testing.assert_close(c, b, rtol=0, atol=0, msg=key)


@pytest.mark.parametrize('dtype', [None, torch.bfloat16], ids=['fp32', 'bf16'])
@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_same_outputs_gradients_and_state(name, dtype):
    assert_same_as_plain(name, dtype)


def saved_bytes(network: nn.Module, inputs) -> int:
    """Bytes of the distinct tensors autograd keeps for backward during one training forward."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        network(*inputs)
    return sum(storages.values())


@pytest.mark.parametrize('name', sorted(NETWORKS))
def test_keeps_fewer_activations(name):
    plain, checkpointed, inputs = pair(name)
    assert saved_bytes(checkpointed, inputs) < 0.5 * saved_bytes(plain, inputs)


def test_no_checkpointing_without_gradients():
    """Sampling (no_grad) and evaluation run the blocks once: nothing is re-run, nothing recorded."""
    _, checkpointed, inputs = pair('generator')
    with torch.no_grad():
        assert not checkpointed(*inputs).requires_grad
    assert not is_recomputing()
