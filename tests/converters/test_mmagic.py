"""mmagic → ours: mmagic's own SAGAN, built by mmagic's code from each of its six SAGAN configs with
non-trivial state and saved as mmagic's runner saves it, converts with one command (our config derived from
mmagic's) into networks that give the same outputs in eval and in training mode; a config of ours that
computes another function is refused, naming each setting."""
import os.path as osp
import runpy

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer

from sagan_plugin.converters import ConversionError, convert_checkpoint, load_peer_checkpoint
from sagan_plugin.engine.safe_checkpoint import runner_checkpoint_types
from sagan_plugin.registry import MODELS
from tests.conftest import REPO, run_python

# tools/convert_checkpoint.py's main, the command line's own code path, called in this process
convert = runpy.run_path(
    osp.join(REPO, 'tools', 'convert_checkpoint.py'), run_name='convert_checkpoint')['main']

# mmagic's model zoo: configs/sagan/ of mmagic 1.2
SIX = {
    'cifar': 'sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32',
    'cifar_inplace': 'sagan_wReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32',
    'cifar_studio': 'sagan_cvt-studioGAN_cifar10-32x32',
    'imagenet': 'sagan_woReLUinplace_Glr1e-4_Dlr4e-4_ndisc1-4xb64_imagenet1k-128x128',
    'imagenet_biggan': 'sagan_woReLUinplace-Glr1e-4_Dlr4e-4_noaug-ndisc1-8xb32-bigGAN-sch_imagenet1k-128x128',
    'imagenet_studio': 'sagan_128_cvt_studioGAN',
}
CIFAR_CONFIG = osp.join(REPO, 'configs', 'sagan_mmagic_cifar10_32.py')
SHORTCUT = 'model.discriminator.relu_shortcut'


@pytest.fixture(scope='module')
def mmagic_dir(tmp_path_factory):
    """Every case from one process that never imports sagan_plugin (mmagic's code alone, plain MMEngine
    pickling)."""
    out = tmp_path_factory.mktemp('mmagic')
    script = osp.join(REPO, 'tests', 'converters', 'make_mmagic_checkpoints.py')
    run_python(script, out, *[f'{name}={config}' for name, config in SIX.items()], timeout=1800)
    return out


def fast_init(cfg: Config) -> None:
    """Every weight is overwritten by the checkpoint; Glorot init skips orthogonal's QR of wide layers."""
    cfg.model.generator.init_type = cfg.model.discriminator.init_type = 'xavier'


def load_converted(out) -> torch.nn.Module:
    """Our model from the written OUT.py as written (it keeps mmagic's order of operations), with OUT.pth
    loaded strictly."""
    cfg = Config.fromfile(str(out)[:-len('.pth')] + '.py')
    fast_init(cfg)
    model = MODELS.build(cfg.model)
    model.load_state_dict(torch.load(out, weights_only=True)['state_dict'], strict=True)
    return model


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got.reshape(want.shape) - want).abs().max() / want.abs().max()).item()


@pytest.mark.parametrize('name', SIX)
def test_each_mmagic_config_converts_with_one_command_to_equal_outputs(mmagic_dir, tmp_path, name):
    out = tmp_path / f'{name}.pth'
    convert(['--from', 'mmagic', str(mmagic_dir / f'{name}.pth'), str(out), '--peer-config', SIX[name]])
    model = load_converted(out)
    ref = torch.load(mmagic_dir / f'{name}_ref.pth', weights_only=True)
    nets = dict(generator=model.generator, discriminator=model.discriminator)
    if getattr(model, 'generator_ema', None) is not None:
        nets['generator_ema'] = model.generator_ema.module
        assert relative_error(ref['eval']['generator_ema'],
                              ref['eval']['generator']) > 1e-2  # not a copy of G
    assert set(nets) == set(ref['eval']) and (name != 'imagenet_biggan' or 'generator_ema' in nets)
    for mode in ('eval', 'train'):  # train: BN batch statistics and one SN power iteration
        model.train(mode == 'train')
        with torch.no_grad():
            for net_name, net in nets.items():
                x = ref['image'] if net_name == 'discriminator' else ref['noise']
                assert relative_error(net(x, ref['label']), ref[mode][net_name]) <= 1e-5, (mode, net_name)
    assert model.generator.attention[next(iter(model.generator.attention))].gamma == 0.5


@pytest.mark.parametrize('name,config,options,settings', [
    ('cifar', CIFAR_CONFIG, [f'{SHORTCUT}=True'], [SHORTCUT]),
    ('cifar', CIFAR_CONFIG, ['model.generator.rgb_to_bgr=True'], ['model.generator.rgb_to_bgr']),
    ('cifar', CIFAR_CONFIG, ['model.generator.norm_eps=1e-05'], ['model.generator.norm_eps']),
    ('cifar', CIFAR_CONFIG, ['model.discriminator.sn_eps=1e-08'], ['model.discriminator.sn_eps']),
    ('cifar', CIFAR_CONFIG, ['model.generator.sn_embedding=False'], ['model.generator.sn_embedding']),
    ('cifar_inplace', CIFAR_CONFIG, [], [SHORTCUT]),
    ('cifar_studio', osp.join(REPO, 'configs', 'sagan_studiogan_cifar10_32.py'), [],
     ['model.generator.sn_eps', 'model.discriminator.sn_eps', 'model.generator.rgb_to_bgr', SHORTCUT]),
])
def test_a_config_computing_another_function_is_refused(mmagic_dir, tmp_path, name, config, options,
                                                        settings):
    out = tmp_path / 'out.pth'
    args = ['--from', 'mmagic', str(mmagic_dir / f'{name}.pth'), str(out), '--config', config]
    with pytest.raises(ConversionError, match='computes another function') as err:
        convert(args + (['--cfg-options', *options] if options else []))
    named = [line.split(':')[0].strip() for line in str(err.value).splitlines() if 'the config has' in line]
    assert sorted(named) == sorted(settings) and list(tmp_path.iterdir()) == []
    assert all(', the checkpoint was made with ' in line for line in str(err.value).splitlines()[1:-1])


def test_a_checkpoint_without_its_config_is_refused_unless_unverified(mmagic_dir, tmp_path):
    bare, out = tmp_path / 'bare.pth', tmp_path / 'out.pth'
    torch.save(load_peer_checkpoint(str(mmagic_dir / 'cifar.pth'))['state_dict'], bare)  # no meta, no config
    for config in ([], ['--config', CIFAR_CONFIG]):
        with pytest.raises(
                ConversionError,
                match=r'(?s)cannot be verified.*relu_shortcut.*rgb_to_bgr.*--peer-config.*--unverified'):
            convert(['--from', 'mmagic', str(bare), str(out), *config])
    assert not out.exists()
    convert(['--from', 'mmagic', str(bare), str(out), '--config', CIFAR_CONFIG, '--unverified'])
    assert torch.load(out, weights_only=True)['meta']['settings_checked'] is None


def test_one_command_end_to_end_with_the_checkpoints_own_config(mmagic_dir, tmp_path):
    out = tmp_path / 'converted.pth'
    proc = run_python('tools/convert_checkpoint.py', '--from', 'mmagic', mmagic_dir / 'cifar_inplace.pth',
                      out)
    assert f'config {tmp_path / "converted.py"}' in proc.stdout
    meta = torch.load(out, weights_only=True)['meta']
    assert meta['peer_config'].endswith('(its meta.cfg)') and meta['networks'] == [
        'generator', 'discriminator'
    ]
    assert meta['settings_checked']['model.discriminator.relu_shortcut'] is True
    assert Config.fromfile(tmp_path / 'converted.py').model.discriminator.relu_shortcut is True
    # The pair works at once: sampling needs no data; evaluation stops naming the data it needs.
    run_python('tools/sample.py', tmp_path / 'converted.py', out, '--per-class', '1', '--out',
               tmp_path / 'g.png')
    assert (tmp_path / 'g.png').stat().st_size > 0
    proc = run_python(
        'tools/test.py', tmp_path / 'converted.py', out, '--work-dir', tmp_path / 'test', check=False)
    assert proc.returncode != 0 and 'data/cifar10' in proc.stderr, proc.stderr[-2000:]


def test_mmagic_runner_checkpoint_needs_getattr_but_never_runs_it(mmagic_dir):
    path = str(mmagic_dir / 'cifar.pth')
    assert 'builtins.getattr' in torch.serialization.get_unsafe_globals_in_checkpoint(path)
    with pytest.raises(Exception, match='getattr'):
        torch.load(path, weights_only=True)
    checkpoint = load_peer_checkpoint(path)
    assert 'message_hub' in checkpoint and 'generator.noise2feat.weight_orig' in checkpoint['state_dict']
    # Reading it leaves the package's own allow-list (runner checkpoints for --resume) as it was.
    assert set(runner_checkpoint_types()) <= set(torch.serialization.get_safe_globals())
    with pytest.raises(Exception, match='getattr'):
        torch.load(path, weights_only=True)
    # ... and this process's message hub statistics (a class-wide table the unpickled buffers write) work.
    buffer = HistoryBuffer()
    buffer.update(2.0)
    assert buffer.statistics('mean') == 2.0


def ours():
    cfg = Config.fromfile(CIFAR_CONFIG)
    fast_init(cfg)
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('change,match', [
    (dict(attention_at=(8, )), r'(?s)missing:.*attention\.8\.query\.weight_orig'),
    (dict(num_classes=0), r'(?s)unknown:.*norm_1\.weight_embedding\.weight_orig'),
    (dict(channels=(128, 128, 128, 128)), r'(?s)other shapes:.*noise2feat\.weight_orig'),
])
def test_a_config_of_another_architecture_lists_the_keys(mmagic_dir, change, match):
    model = ours()
    cfg = dict(
        type='SAGANGenerator',
        output_scale=32,
        num_classes=10,
        channels=(256, ) * 4,
        attention_at=(16, ),
        attention_variant='pooled',
        init_type='xavier')
    model.generator = MODELS.build({**cfg, **change})
    with pytest.raises(ConversionError, match=match):
        convert_checkpoint('mmagic', [str(mmagic_dir / 'cifar.pth')], model)


def test_missing_file_unknown_source_and_unknown_peer_config_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        convert_checkpoint('mmagic', [str(tmp_path / 'nothere.pth')], ours())
    with pytest.raises(ValueError, match="unknown checkpoint source 'biggan'"):
        convert_checkpoint('biggan', [str(tmp_path / 'x.pth')], ours())
    from sagan_plugin.converters.mmagic_config import peer_config
    with pytest.raises(ConversionError, match=r'sagan_typo.*neither a file nor.*sagan_128_cvt_studioGAN'):
        peer_config('sagan_typo')
