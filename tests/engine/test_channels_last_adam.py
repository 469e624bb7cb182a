import copy

import pytest
import torch

from sagan_plugin.engine.channels_last_adam import ChannelsLastAdam

SETTINGS = dict(lr=0.1, betas=(0.0, 0.9))
SHAPES = ((8, 4, 3, 3), (8, 4, 1, 1), (8, 4), (8, ))  # conv 3×3, conv 1×1, embedding, bias


def params(layout):
    torch.manual_seed(0)
    return [
        torch.nn.Parameter(torch.randn(s).to(memory_format=layout) if len(s) == 4 else torch.randn(s))
        for s in SHAPES
    ]


def in_layout(tensor, layout):
    return tensor.is_contiguous(memory_format=layout if tensor.dim() == 4 else torch.contiguous_format)


def steps(optimizer, tensors, n, layout, seed):
    """n updates with gradients laid out as AccumulateGrad lays them out: like their weight."""
    torch.manual_seed(seed)
    for _ in range(n):
        for p in tensors:
            p.grad = torch.randn(p.shape).to(memory_format=layout) if p.dim() == 4 else torch.randn(p.shape)
        optimizer.step()


def relayout(state_dict, layout):
    """The optimizer state as a run saved with the other ``model.channels_last`` setting holds it."""
    state_dict = copy.deepcopy(state_dict)
    for state in state_dict['state'].values():
        for key in ('exp_avg', 'exp_avg_sq'):
            if state[key].dim() == 4:
                state[key] = state[key].to(memory_format=layout)
    return state_dict


@pytest.mark.parametrize('fused', [True, False])
@pytest.mark.parametrize('saved', [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize('layout', [torch.contiguous_format, torch.channels_last])
def test_matches_torch_adam_across_layouts_and_resume(layout, saved, fused):
    ref = params(torch.contiguous_format)  # reference: torch's for-loop Adam, contiguous, not resumed
    ref_opt = torch.optim.Adam(ref, foreach=False, **SETTINGS)
    steps(ref_opt, ref, 2, torch.contiguous_format, seed=1)
    steps(ref_opt, ref, 2, torch.contiguous_format, seed=2)
    ours = params(layout)
    optimizer = ChannelsLastAdam(ours, fused=fused, **SETTINGS)
    steps(optimizer, ours, 2, layout, seed=1)
    # Resume, possibly with the moments in the other layout (torch's fused Adam mixes elements up there).
    state_dict = relayout(optimizer.state_dict(), saved)
    optimizer = ChannelsLastAdam(ours, fused=fused, **SETTINGS)
    optimizer.load_state_dict(state_dict)
    steps(optimizer, ours, 2, layout, seed=2)
    for p, q in zip(ours, ref):
        torch.testing.assert_close(p.detach().contiguous(), q.detach(), rtol=1e-6, atol=1e-6)
        assert in_layout(p, layout)  # the weights keep the model's layout
        for key in ('exp_avg', 'exp_avg_sq'):
            torch.testing.assert_close(optimizer.state[p][key], ref_opt.state[q][key])
            assert in_layout(optimizer.state[p][key], layout)  # moments follow their weight


def test_fused_kernel_gets_contiguous_tensors(monkeypatch):
    # torch's fused CPU kernel copies a non-contiguous gradient (then ignores the copy): hand it none.
    seen = []
    kernel = torch._fused_adam_

    def spy(*tensor_lists, **kwargs):
        seen.extend(t.is_contiguous() for tensors in tensor_lists[:4] for t in tensors)
        return kernel(*tensor_lists, **kwargs)

    monkeypatch.setattr(torch, '_fused_adam_', spy)
    ours = params(torch.channels_last)
    assert not ours[0].is_contiguous()
    steps(ChannelsLastAdam(ours, fused=True, **SETTINGS), ours, 1, torch.channels_last, seed=1)
    assert len(seen) == 4 * len(SHAPES) and all(seen)


def test_state_dict_loads_into_torch_adam():
    ours = params(torch.channels_last)
    optimizer = ChannelsLastAdam(ours, fused=True, **SETTINGS)
    steps(optimizer, ours, 1, torch.channels_last, seed=1)
    plain = torch.optim.Adam(ours, fused=True, **SETTINGS)
    plain.load_state_dict(optimizer.state_dict())
    assert plain.state_dict()['state'].keys() == optimizer.state_dict()['state'].keys()
