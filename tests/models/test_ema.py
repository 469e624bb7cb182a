"""DecayEMA's BatchNorm statistics: copied from the generator, or averaged with the weights' decay."""
import pytest
import torch

from sagan_plugin.models import SAGANGenerator
from sagan_plugin.models.ema import DecayEMA


def generator():
    torch.manual_seed(0)
    return SAGANGenerator(
        output_scale=32,
        num_classes=3,
        noise_size=8,
        channels=(8, 8, 4, 4),
        attention_at=(16, ),
        attention_k=2)


def train_pass(g, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        g.train()(torch.randn(4, 8), label=torch.tensor([0, 1, 2, 0]))


def bn_and_sn_buffers(module):
    buffers = dict(module.named_buffers())
    bn = {k: v.clone() for k, v in buffers.items() if 'running_' in k}
    sn = {k: v.clone() for k, v in buffers.items() if k.endswith(('_u', '_v'))}
    assert bn and sn
    return bn, sn


@pytest.mark.parametrize('bn_stats', ['copy', 'average'])
def test_bn_statistics_follow_the_rule_and_sn_vectors_are_copied(bn_stats):
    g = generator()
    ema = DecayEMA(g, decay=0.9, bn_stats=bn_stats)
    train_pass(g, 1)
    ema.update_parameters(g)  # the first update copies everything
    first, _ = bn_and_sn_buffers(ema.module)
    train_pass(g, 2)
    ema.update_parameters(g)
    source_bn, source_sn = bn_and_sn_buffers(g)
    bn, sn = bn_and_sn_buffers(ema.module)
    for key, value in bn.items():
        expected = source_bn[key] if bn_stats == 'copy' else 0.9 * first[key] + 0.1 * source_bn[key]
        torch.testing.assert_close(value, expected)
    assert not torch.equal(first[key], source_bn[key])  # the statistics did move between the updates
    for key, value in sn.items():
        assert torch.equal(value, source_sn[key])


def test_an_unknown_bn_rule_is_refused():
    with pytest.raises(ValueError, match="bn_stats must be 'copy' or 'average', got 'mean'"):
        DecayEMA(generator(), decay=0.9, bn_stats='mean')
