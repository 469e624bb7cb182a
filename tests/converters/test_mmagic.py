"""mmagic → ours: mmagic's own SAGAN, built from mmagic's own configs with random weights and saved as
mmagic's runner saves it, converts into networks that give the same outputs (eval mode, SN vectors carried
over)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer

from sagan_plugin.converters import ConversionError, convert_checkpoint, load_peer_checkpoint
from sagan_plugin.engine.safe_checkpoint import runner_checkpoint_types
from sagan_plugin.registry import MODELS
from tests.conftest import REPO, run_python

CIFAR = 'sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32.py'
CIFAR_INPLACE = 'sagan_wReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32.py'
IMAGENET = 'sagan_woReLUinplace_Glr1e-4_Dlr4e-4_ndisc1-4xb64_imagenet1k-128x128.py'
# name: (mmagic config, num_classes, our config, our overrides)
CASES = {
    'c32': (CIFAR, 10, 'sagan_mmagic_cifar10_32.py', {}),
    'u32': (CIFAR, 0, 'sagan_mmagic_cifar10_32.py', {}),
    'w32': (CIFAR_INPLACE, 10, 'sagan_mmagic_cifar10_32.py', dict(relu_shortcut=True)),
    'c128': (IMAGENET, 1000, 'sagan_mmagic_imagenet128.py', {}),
    'u128': (IMAGENET, 0, 'sagan_mmagic_imagenet128.py', {}),
}


@pytest.fixture(scope='module')
def mmagic_dir(tmp_path_factory):
    """All cases from one process that never imports sagan_plugin (plain MMEngine pickling)."""
    out = tmp_path_factory.mktemp('mmagic')
    specs = [f'{name}={config}:{k}' for name, (config, k, _, _) in CASES.items()]
    script = osp.join(REPO, 'tests', 'converters', 'make_mmagic_checkpoints.py')
    run_python(script, out, *specs, timeout=900)
    return out


def ours(name):
    _, num_classes, config, overrides = CASES[name]
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    model_cfg = cfg.model
    for part in (model_cfg, model_cfg.generator, model_cfg.discriminator):
        part.num_classes = num_classes
    model_cfg.discriminator.update(overrides)
    # Every weight is overwritten by the conversion; Glorot init skips orthogonal's slow QR of 128x128 layers.
    model_cfg.generator.init_type = model_cfg.discriminator.init_type = 'xavier'
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('name', CASES)
def test_converted_networks_give_mmagics_outputs(mmagic_dir, name):
    model = ours(name)
    _, found = convert_checkpoint('mmagic', [str(mmagic_dir / f'{name}.pth')], model)
    assert found == ['generator', 'discriminator']
    ref = torch.load(mmagic_dir / f'{name}_ref.pth', weights_only=True)
    model.eval()
    with torch.no_grad():
        fake = model.generator(ref['noise'], ref['label'])
        score = model.discriminator(ref['image'], ref['label'])
    assert (fake - ref['fake']).abs().max() <= 1e-5
    assert (score - ref['score'].view(-1)).abs().max() <= 1e-5
    assert ref['fake'].std() > 0.01 and model.generator.attention[next(iter(
        model.generator.attention))].gamma == 0.5


def test_command_line_conversion_and_checkpoint_layout(mmagic_dir, tmp_path):
    out = tmp_path / 'converted.pth'
    unconditional = [
        'model.num_classes=0', 'model.generator.num_classes=0', 'model.discriminator.num_classes=0'
    ]
    proc = run_python('tools/convert_checkpoint.py', '--from', 'mmagic', mmagic_dir / 'u32.pth', out,
                      '--config', 'configs/sagan_mmagic_cifar10_32.py', '--cfg-options', *unconditional)
    assert 'converted generator, discriminator' in proc.stdout
    checkpoint = torch.load(out, weights_only=True)
    assert checkpoint['meta']['converted_from'] == 'mmagic' and checkpoint['meta']['networks'] == [
        'generator', 'discriminator'
    ]
    assert {k.split('.')[0] for k in checkpoint['state_dict']} == {'generator', 'discriminator'}


def test_mmagic_runner_checkpoint_needs_getattr_but_never_runs_it(mmagic_dir):
    path = str(mmagic_dir / 'c32.pth')
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


@pytest.mark.parametrize('change,match', [
    (dict(attention_at=(8, )), r'(?s)missing:.*attention\.8\.query\.weight_orig'),
    (dict(num_classes=0), r'(?s)unknown:.*norm_1\.weight_embedding\.weight_orig'),
    (dict(channels=(128, 128, 128, 128)), r'(?s)other shapes:.*noise2feat\.weight_orig'),
])
def test_a_config_of_another_architecture_lists_the_keys(mmagic_dir, change, match):
    model = ours('c32')
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
        convert_checkpoint('mmagic', [str(mmagic_dir / 'c32.pth')], model)


def test_missing_file_and_unknown_source_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        convert_checkpoint('mmagic', [str(tmp_path / 'nothere.pth')], ours('c32'))
    with pytest.raises(ValueError, match="unknown checkpoint source 'biggan'"):
        convert_checkpoint('biggan', [str(tmp_path / 'x.pth')], ours('c32'))
