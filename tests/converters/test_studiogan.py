"""StudioGAN → ours: converted networks compute the same function as a faithful re-creation of StudioGAN's
SAGAN (tests/converters/studiogan_reference.py), in BGR."""
import os.path as osp
import runpy

import pytest
import torch
from mmengine.config import Config

from sagan_plugin.converters import ConversionError, convert_checkpoint
from sagan_plugin.registry import MODELS
from tests.conftest import REPO
from tests.converters import studiogan_reference as studio

BGR = [2, 1, 0]
CONFIGS = {32: 'sagan_studiogan_cifar10_32.py', 128: 'sagan_studiogan_imagenet128.py'}
ATTENTION = {32: ([2], [1]), 128: ([4], [1])}  # attn_g_loc, attn_d_loc of StudioGAN's SAGAN configs


def ours(scale, num_classes, ema=True):
    cfg = Config.fromfile(osp.join(REPO, 'configs', CONFIGS[scale]))
    cfg.model.update(num_classes=num_classes, ema_config=dict(type='DecayEMA') if ema else None)
    cfg.model.generator.num_classes = cfg.model.discriminator.num_classes = num_classes
    # Every weight is overwritten by the conversion; Glorot init skips orthogonal's slow QR of 128x128 layers.
    cfg.model.generator.init_type = cfg.model.discriminator.init_type = 'xavier'
    return MODELS.build(cfg.model)


def save_studiogan_run(tmp_path, scale, num_classes):
    """G, D and G_ema as a StudioGAN run saves them, after training-mode passes (BN statistics, SN u, v)."""
    torch.manual_seed(0)
    g_loc, d_loc = ATTENTION[scale]
    nets = dict(
        G=studio.Generator(scale, 64, g_loc, num_classes),
        D=studio.Discriminator(scale, 64, d_loc, num_classes),
        G_ema=studio.Generator(scale, 64, g_loc, num_classes))
    for net in nets.values():  # sigma = 0 at init would hide the attention path
        for m in net.modules():
            if isinstance(m, studio.SelfAttention):
                m.sigma.data.fill_(0.5)
    y = torch.randint(0, max(num_classes, 1), (2, ))
    with torch.no_grad():
        nets['G'](torch.randn(2, 128), y), nets['G_ema'](torch.randn(2, 128), y)
        nets['D'](torch.rand(2, 3, scale, scale) * 2 - 1, y)
    paths = []
    for name, net in nets.items():
        paths.append(str(tmp_path / f'model={name}-best-weights-step=2.pth'))
        torch.save(
            dict(state_dict=net.state_dict(), seed=0, run_name='SAGAN-test', step=2, best_fid=99.0),
            paths[-1])
    return {k: v.eval() for k, v in nets.items()}, paths


@pytest.mark.parametrize('scale,num_classes', [(32, 10), (32, 0), (128, 1000)])
def test_converted_networks_compute_studiogans_function_in_bgr(tmp_path, scale, num_classes):
    nets, paths = save_studiogan_run(tmp_path, scale, num_classes)
    model = ours(scale, num_classes).eval()
    state, found = convert_checkpoint('studiogan', paths, model)
    assert found == ['generator', 'discriminator', 'generator_ema']
    z, x = torch.randn(3, 128), torch.rand(3, 3, scale, scale) * 2 - 1
    y = torch.tensor([0, 1, 2]) if num_classes else torch.zeros(3, dtype=torch.long)
    label = y if num_classes else None
    with torch.no_grad():
        for mine, theirs in ((model.generator, nets['G']), (model.generator_ema.module, nets['G_ema'])):
            assert (mine(z, label) - theirs(z, y)[:, BGR]).abs().max() <= 1e-5
        assert (model.discriminator(x[:, BGR], label) - nets['D'](x, y)).abs().max() <= 1e-5
        assert model.generator.attention[str(scale // 2)].gamma.item() == 0.5


@pytest.fixture(scope='module')
def run32(tmp_path_factory):
    return save_studiogan_run(tmp_path_factory.mktemp('studiogan32'), 32, 10)[1]


def test_generator_file_alone_converts_the_generator(run32):
    paths = run32
    _, found = convert_checkpoint('studiogan', paths[:1], ours(32, 10))
    assert found == ['generator']


def test_mismatched_architecture_lists_the_keys(run32):
    paths = run32
    model = ours(32, 10)
    model.generator.attention = torch.nn.ModuleDict()  # as if the config had no attention: keys left over
    model.generator.attention_after = [None] * len(model.generator.blocks)
    with pytest.raises(ConversionError, match=r'(?s)unknown:.*blocks\.2\.0\.conv1x1_theta\.weight_orig'):
        convert_checkpoint('studiogan', paths[:1], model)
    with pytest.raises(ConversionError, match=r'(?s)other shapes:.*linear0\.weight_orig'):
        convert_checkpoint('studiogan', paths[:1], ours(128, 10, ema=False))


def test_two_generators_need_the_ema_named(run32):
    with pytest.raises(ConversionError, match='two files hold the generator'):
        convert_checkpoint('studiogan', [run32[0], run32[0]], ours(32, 10))


def test_ema_file_without_ema_in_the_config_says_how_to_add_it(run32):
    with pytest.raises(
            ConversionError, match=r'G_ema.*is an EMA generator, but the config has no EMA.*ema_config'):
        convert_checkpoint('studiogan', run32, ours(32, 10, ema=False))


def test_studiogans_2020_layout_embed0_embed1_converts_to_the_same_state(run32, tmp_path):
    """StudioGAN before 2021-07 kept cBN's tables as SN'd Embeddings (K x C, u and v the other way round)."""
    state = torch.load(run32[0], weights_only=True)['state_dict']
    old = {}
    for key, value in state.items():
        head, _, tail = key.rpartition('.')
        for new, name in (('.gain', '.embed0'), ('.bias', '.embed1')):
            if head.endswith(new) and '.bn' in head:
                head = head[:-len(new)] + name
                value = value.t() if tail == 'weight_orig' else value
                tail = {'weight_u': 'weight_v', 'weight_v': 'weight_u'}.get(tail, tail)
        old[f'{head}.{tail}'] = value
    assert any('embed0.weight_orig' in k for k in old) and not any('.gain.' in k for k in old)
    path = tmp_path / 'model=G-old.pth'
    torch.save(dict(state_dict=old), path)
    new_state, _ = convert_checkpoint('studiogan', run32[:1], ours(32, 10))
    old_state, _ = convert_checkpoint('studiogan', [str(path)], ours(32, 10))
    assert new_state.keys() == old_state.keys()
    assert all(torch.equal(new_state[k], old_state[k]) for k in new_state)


def test_a_config_that_is_not_studiogans_is_refused_naming_the_settings(run32, tmp_path):
    convert = runpy.run_path(osp.join(REPO, 'tools', 'convert_checkpoint.py'), run_name='convert')['main']
    with pytest.raises(
            ConversionError, match=r'(?s)relu_shortcut: the config has False.*made with True') as err:
        convert([
            '--from', 'studiogan', run32[0],
            str(tmp_path / 'out.pth'), '--config',
            osp.join(REPO, 'configs', 'sagan_mmagic_cifar10_32.py')
        ])
    assert "StudioGAN's code" in str(err.value) and 'model.generator.sn_eps' in str(err.value)
    assert list(tmp_path.iterdir()) == []
