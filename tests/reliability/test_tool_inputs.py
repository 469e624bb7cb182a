"""Every reader of a checkpoint checks it the same way (archive CRC, plain weights, finite values), and the
tools' other inputs and outputs fail early, by name (load_from's strictness: test_load_from.py)."""
import os.path as osp
import zipfile

import numpy as np
import pytest
import torch
from mmengine.hooks import Hook
from PIL import Image

from sagan_plugin.apis import generate, generator_attention, init_model
from sagan_plugin.converters import load_peer_checkpoint
from sagan_plugin.engine.checkpoint_files import verify_checkpoint
from sagan_plugin.evaluation import load_stats, make_stats, save_stats
from tests.apis.checkpoints import save_checkpoint
from tests.conftest import REPO, run_python, run_tool
from tests.reliability.conftest import NAN_KEY, TINY

MMAGIC_CIFAR = 'sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32.py'
OUR_CIFAR = osp.join(REPO, 'configs', 'sagan_mmagic_cifar10_32.py')


@pytest.fixture(scope='module')
def mmagic_c32(tmp_path_factory):
    """mmagic's own conditional CIFAR SAGAN, saved by mmagic's code in a process without sagan_plugin."""
    out = tmp_path_factory.mktemp('mmagic')
    run_python(
        osp.join(REPO, 'tests', 'converters', 'make_mmagic_checkpoints.py'),
        out,
        f'c32={MMAGIC_CIFAR}:10',
        timeout=600)
    return out / 'c32.pth'


def convert(monkeypatch, tmp_path, *inputs, config=OUR_CIFAR):
    fast_init = ['model.generator.init_type=xavier', 'model.discriminator.init_type=xavier']
    try:
        run_tool(monkeypatch, 'convert_checkpoint.py', '--from', 'mmagic', *inputs, tmp_path / 'out.pth',
                 '--config', config, '--cfg-options', *fast_init)
    except SystemExit as refused:  # the tool prints a refusal's message and exits 1, no traceback
        raise ValueError(str(refused)) from refused


def not_checkpoints(tmp_path):
    """Files users give where a checkpoint belongs: a PNG, a text file, torch's legacy pickle format."""
    Image.new('RGB', (4, 4)).save(tmp_path / 'grid.png')
    (tmp_path / 'notes.pth').write_text('load_from = "iter_4.pth"\n')
    torch.save(
        dict(state_dict={'generator.x': torch.ones(1)}),
        tmp_path / 'legacy.pth',
        _use_new_zipfile_serialization=False)
    return [(tmp_path / 'grid.png', 'a PNG image'),
            (tmp_path / 'notes.pth', "a text file starting with 'load"),
            (tmp_path / 'legacy.pth', "a pickle: torch's legacy format")]


def test_damaged_mmagic_checkpoint_is_not_converted(mmagic_c32, tmp_path, monkeypatch):
    damaged = tmp_path / 'c32.pth'
    data = bytearray(mmagic_c32.read_bytes())
    data[len(data) // 2:len(data) // 2 + 4096] = bytes(4096)  # 4 KB overwritten, size unchanged
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f'checkpoint {damaged} is damaged: its entry .* fails the CRC-32'):
        convert(monkeypatch, tmp_path, damaged)
    assert not (tmp_path / 'out.pth').exists()


def test_mmagic_checkpoint_with_nan_weights_is_not_converted(mmagic_c32, tmp_path, monkeypatch):
    checkpoint = load_peer_checkpoint(str(mmagic_c32))
    checkpoint['state_dict']['generator.noise2feat.weight_orig'][1] = float('inf')
    torch.save(checkpoint, tmp_path / 'inf.pth')
    with pytest.raises(
            ValueError,
            match=r'inf.pth holds non-finite values in 1 tensors: '
            r'generator.noise2feat.weight_orig \(0 NaN, \d+ Inf of \d+\)'):
        convert(monkeypatch, tmp_path, tmp_path / 'inf.pth')
    assert not (tmp_path / 'out.pth').exists()


def test_our_own_checkpoint_is_not_converted(trained, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match='iter_4.pth is already a sagan_plugin checkpoint .*use it directly'):
        convert(monkeypatch, tmp_path, trained / 'iter_4.pth', config=TINY)
    converted = tmp_path / 'converted.pth'
    save_checkpoint(converted, torch.load(trained / 'iter_4.pth', weights_only=True)['state_dict'])
    with pytest.raises(ValueError, match='converted.pth is already a sagan_plugin checkpoint'):
        convert(monkeypatch, tmp_path, converted, config=TINY)


@pytest.mark.parametrize('no_ema', [[], ['--no-ema']])
def test_sample_refuses_nan_weights_naming_them(trained, tmp_path, monkeypatch, no_ema):
    with pytest.raises(ValueError, match=rf'nan.pth holds non-finite values in 1 tensors: {NAN_KEY} \(3 NaN'):
        run_tool(monkeypatch, 'sample.py', TINY, trained / 'nan.pth', '--out', tmp_path / 'g.png', *no_ema)
    assert not (tmp_path / 'g.png').exists()


def test_test_tool_and_api_refuse_nan_weights(trained, monkeypatch):
    with pytest.raises(ValueError, match=rf'nan.pth holds non-finite values .*{NAN_KEY}'):
        run_tool(monkeypatch, 'test.py', TINY, trained / 'nan.pth')
    with pytest.raises(ValueError, match=rf'nan.pth holds non-finite values .*{NAN_KEY}'):
        init_model(TINY, str(trained / 'nan.pth'))


def test_files_that_are_not_checkpoints_are_named(trained, tmp_path, monkeypatch):
    for path, what in not_checkpoints(tmp_path):
        message = f'{path} is not a PyTorch checkpoint \\({what}'
        readers = [
            lambda: verify_checkpoint(str(path)), lambda: init_model(TINY, str(path)),
            lambda: convert(monkeypatch, tmp_path, path),
            lambda: run_tool(monkeypatch, 'sample.py', TINY, path, '--out', tmp_path / 'g.png')
        ]
        for read in readers:
            with pytest.raises(ValueError, match=message) as err:
                read()
            assert 'weights_only' not in str(err.value)


def test_a_zip_that_torch_did_not_write_is_named(tmp_path):
    with zipfile.ZipFile(tmp_path / 'images.zip', 'w') as archive:
        archive.writestr('a.txt', 'not a tensor')
    with pytest.raises(ValueError, match='images.zip is not a PyTorch checkpoint'):
        verify_checkpoint(str(tmp_path / 'images.zip'))


def test_a_checkpoint_with_other_objects_never_advises_weights_only_false(tmp_path):
    torch.save(dict(state_dict={}, hook=Hook()), tmp_path / 'objects.pth')
    with pytest.raises(
            ValueError,
            match=r'objects.pth holds objects that are not plain weights \(Unsupported '
            r'global: GLOBAL mmengine.hooks.hook.Hook') as err:
        verify_checkpoint(str(tmp_path / 'objects.pth'))
    assert 'weights_only' not in str(err.value) and err.value.__cause__ is None


def test_damaged_statistics_file_is_named(tmp_path):
    path = str(tmp_path / 'real.pkl')
    feats = np.random.default_rng(0).standard_normal((8, 4))
    save_stats(path, make_stats(feats, dict(name='test'), dict(type='X'), save_features=True))
    data = open(path, 'rb').read()
    damaged = [data[:len(data) // 2], data[:-200] + bytes(b ^ 0xFF for b in data[-200:-190]) + data[-190:]]
    for broken in damaged:
        with open(path, 'wb') as f:
            f.write(broken)
        with pytest.raises(ValueError, match=f'statistics file {path} is damaged .*delete it'):
            load_stats(path)


def test_out_of_range_labels_through_the_python_api(trained):
    model = init_model(TINY, str(trained / 'iter_4.pth'))
    noise = torch.randn(2, model.noise_size)
    bad = torch.tensor([3, 10])
    with pytest.raises(ValueError, match=r'class id 10 is outside \[0, 10\)'):
        next(generate(model, noise, bad))
    with pytest.raises(ValueError, match=r'class id -1 is outside \[0, 10\)'):
        generator_attention(model, ['generator.16'], noise, torch.tensor([-1, 0]), [(4, 4)])
    from mmagic.structures import DataSample
    samples = DataSample()
    samples.set_gt_label(bad)
    with pytest.raises(ValueError, match=r'class id 10 is outside \[0, 10\)'):
        model(dict(num_batches=2), samples)


def test_unwritable_outputs_fail_before_loading(trained, tmp_path, monkeypatch):
    """Root may write anywhere by permission bits, so the folders are impossible ones: a file, or sysfs (which
    takes no new files, whoever asks)."""
    (tmp_path / 'file').write_text('x')
    missing = tmp_path / 'missing.pth'  # would fail only when loaded
    for option, path, error in [('--out', tmp_path / 'file' / 'grid.png', NotADirectoryError),
                                ('--out-dir', tmp_path / 'file' / 'samples', NotADirectoryError),
                                ('--out-dir', tmp_path / 'file', NotADirectoryError),
                                ('--out', tmp_path, IsADirectoryError),
                                ('--out', '/sys/grid.png', PermissionError)]:  # sysfs: no new files
        with pytest.raises(error, match=f'{option} {path}'):
            run_tool(monkeypatch, 'sample.py', TINY, missing, option, path)
    with pytest.raises(NotADirectoryError, match=f'--out {tmp_path}/file/a.png: {tmp_path}/file is a file'):
        run_tool(monkeypatch, 'visualize_attention.py', TINY, missing, '--out', tmp_path / 'file' / 'a.png')
    with pytest.raises(FileNotFoundError, match='--out .*folder .*nope does not exist'):
        run_tool(monkeypatch, 'test.py', TINY, missing, '--out', tmp_path / 'nope' / 'm.json')
