"""Inputs users get wrong, each answered by a message naming the problem: image files that do not decode or
are too large, data roots with spaces and non-ASCII letters, an override of a hook the config lacks, a taken
port, a batch of one with BatchNorm."""
import argparse
import glob
import os.path as osp
import re
import shutil
import socket
import struct
import sys
import warnings
import zlib

import pytest
from mmengine.config import Config, DictAction
from PIL import Image

from sagan_plugin.engine.launch import add_common_args, load_config
from sagan_plugin.registry import DATASETS
from tests.conftest import REPO, run_command, run_python, run_tool
from tests.reliability.conftest import TINY, make_imagenet, tiny_runner
from tests.reliability.test_datasets import first_image

IMAGENET_DATA = osp.join(REPO, 'configs', '_base_', 'datasets', 'imagenet_128.py')
FASHION_MNIST = '/usr/share/datasets/fashion-mnist'


def png(width: int, height: int) -> bytes:
    """A black 1-bit greyscale PNG of any size, a few KB even at 20000x20000 (rows compressed one by one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    packer, row = zlib.compressobj(9), b'\0' * (1 + (width + 7) // 8)  # filter byte + packed bits
    pixels = b''.join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', pixels) + chunk(b'IEND', b'')


def damage(path: str, kind: str) -> None:
    """Replace the image at ``path`` (named .JPEG) by a bad file of the given kind."""
    data = open(path, 'rb').read()
    content = dict(
        empty=b'',
        truncated=data[:len(data) // 3],
        text=b'this is a text file, not a photo\n',
        bomb=png(20000, 20000),  # PIL raises DecompressionBombError; OpenCV would decode 1.1 GiB
        bomb_warning=png(10000, 10000),  # 1-2x PIL's limit: PIL only warns and decodes
        too_wide=png((1 << 20) + 1, 1),  # a million pixels, but wider than OpenCV accepts
    )[kind]
    with open(path, 'wb') as f:
        f.write(content)


def imagenet(root, **changes):
    """The training set that configs/_base_/datasets/imagenet_128.py builds, on ``root``."""
    cfg = Config.fromfile(IMAGENET_DATA).train_dataloader.dataset
    return DATASETS.build(dict(cfg, data_root=root, **changes))


REASONS = dict(
    empty='the file is empty: 0 bytes',
    truncated='truncated or corrupt: OSError: image file is truncated',
    text="not an image: neither OpenCV nor PIL knows its format .* starting b'this is a te'",
    bomb=(r'too large: 20000x20000 = 400,000,000 pixels, 1,144 MiB decoded, above '
          r'max_image_pixels=89,478,485\); resize it, or allow it on the dataset, e.g. --cfg-options '
          r'train_dataloader.dataset.max_image_pixels=400000000 \('),
    bomb_warning=r'too large: 10000x10000 = 100,000,000 pixels, .* above max_image_pixels=89,478,485',
    too_wide=(
        r"too large for OpenCV: 1048577x1 .* width above 1,048,576\); resize it, or raise OpenCV's limit: "
        'OPENCV_IO_MAX_IMAGE_WIDTH=1048577 in the environment'),
)


@pytest.mark.parametrize('kind', sorted(REASONS))
def test_bad_image_is_an_error_naming_the_file_and_why(tmp_path, kind):
    root = make_imagenet(tmp_path / 'imagenet', num_images=4)
    path = first_image(root)
    damage(path, kind)
    dataset = imagenet(root)
    with warnings.catch_warnings():
        warnings.simplefilter('error', Image.DecompressionBombWarning)  # never decoded, not even warned
        with pytest.raises(ValueError, match=f'ImageNet: image {path} cannot be read \\({REASONS[kind]}'):
            dataset[0]


@pytest.mark.parametrize('kind', sorted(REASONS))
def test_bad_image_is_skipped_and_counted_when_asked(tmp_path, kind, mm_log):
    root = make_imagenet(tmp_path / 'imagenet', num_images=4)
    path = first_image(root)
    damage(path, kind)
    dataset = imagenet(root, bad_images='skip')
    item = dataset[0]  # another, good image instead (drawn at random: the bad one may come up again)
    assert item['data_samples'].gt_img.shape == (3, 128, 128) and dataset.skipped >= 1
    assert any(f'skipped unreadable image {path}' in m and '1 skipped so far' in m for m in mm_log)


def test_image_above_a_set_limit_is_refused_and_the_limit_can_be_raised(tmp_path):
    root = make_imagenet(tmp_path / 'imagenet', num_images=2)
    width, height = Image.open(first_image(root)).size
    with pytest.raises(ValueError, match=f'above max_image_pixels=1,000.*max_image_pixels={width * height}'):
        imagenet(root, max_image_pixels=1000)[0]
    assert imagenet(root, max_image_pixels=width * height)[0]['data_samples'].gt_img.shape == (3, 128, 128)
    with pytest.raises(ValueError, match='max_image_pixels must be a positive integer or None'):
        imagenet(root, max_image_pixels=0)


def fashion_mnist_copy(folder) -> str:
    """Fashion-MNIST's files in a folder whose name has spaces and non-ASCII letters."""
    root = osp.join(folder, 'my data', 'Modedaten für Tests – ü')
    shutil.copytree(FASHION_MNIST, root)
    return root


def test_train_py_with_data_root_with_spaces_and_non_ascii_letters(tmp_path):
    root = fashion_mnist_copy(tmp_path)
    proc = run_python(
        'tools/train.py',
        TINY,
        '--data-root',
        root,
        '--work-dir',
        tmp_path / 'work',
        '--cfg-options',
        'train_cfg.max_iters=2',
        'custom_hooks.0.interval=1000',
        env=dict(OMP_NUM_THREADS='1'))
    assert f'data_root {FASHION_MNIST} -> {root} for train_dataloader.dataset' in proc.stdout
    assert 'Iter(train) [2/2]' in next((tmp_path / 'work').glob('*/*.log')).read_text(encoding='utf-8')


def parse(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_args(parser)
    return parser.parse_args([TINY, *argv])


def test_cfg_options_keep_a_path_with_spaces_as_typed(tmp_path):
    root = fashion_mnist_copy(tmp_path)
    mmengine = argparse.ArgumentParser()
    mmengine.add_argument('--cfg-options', nargs='+', action=DictAction)
    stripped = root.replace(' ', '')  # what MMEngine's own DictAction makes of it
    assert mmengine.parse_args(['--cfg-options', f'data_root={root}']).cfg_options['data_root'] == stripped
    options = parse('--cfg-options', f'data_root="{root}"', 'train_dataloader.dataset.ann_file=a b,c.txt',
                    'model.generator.channels=(32, 16)', 'train_cfg.max_iters=10').cfg_options
    assert options == {
        'data_root': root,
        'train_dataloader.dataset.ann_file': 'a b,c.txt',
        'model.generator.channels': (32, 16),
        'train_cfg.max_iters': 10
    }
    cfg = load_config(parse('--cfg-options', f'data_root={root}', '--work-dir', str(tmp_path / 'work')))
    assert cfg.train_dataloader.dataset.data_root == root


TWO_ROOTS = ['--data-root', FASHION_MNIST, '--cfg-options', 'data_root=/x']


@pytest.mark.parametrize('argv, error, match', [
    (['--data-root', '/no/such folder'], FileNotFoundError, "--data-root '/no/such folder': no such folder"),
    (TWO_ROOTS, ValueError, f'--data-root {FASHION_MNIST} and --cfg-options data_root=/x: give one'),
])
def test_data_root_errors(monkeypatch, argv, error, match):
    with pytest.raises(error, match=match):
        run_tool(monkeypatch, 'train.py', TINY, *argv)


@pytest.mark.parametrize('option, match', [
    ('default_hooks.visualization.interval=5',
     "--cfg-options default_hooks.visualization.interval=5: the config has no hook 'visualization'; its "
     r'default_hooks are: timer, logger, checkpoint, rng_state, non_finite, setup_check.* \(custom_hooks: '
     r'0: VisualizationHook\). A new hook needs its type: default_hooks.visualization.type=...'),
    ('custom_hooks.1.interval=5',
     "--cfg-options custom_hooks.1.interval=5: the config has no custom hook '1'; "
     r'its default_hooks are: .* \(custom_hooks: 0: VisualizationHook\); name a custom hook by its index'),
    ('custom_hooks.VisualizationHook.interval=5',
     "no custom hook 'VisualizationHook'.*custom_hooks.0.interval"),
])
def test_override_of_a_hook_the_config_lacks_names_the_hooks_there_are(monkeypatch, option, match):
    with pytest.raises(KeyError, match=match):
        run_tool(monkeypatch, 'train.py', TINY, '--cfg-options', option)


@pytest.mark.parametrize('script, address', [('dist_train.sh', ''), ('dist_train.sh', '127.0.0.1'),
                                             ('dist_test.sh', '')])
def test_dist_scripts_with_their_port_taken_say_set_port(tmp_path, script, address):
    with socket.socket() as taken:  # another job's rendezvous
        taken.bind((address, 0))
        taken.listen()
        port = taken.getsockname()[1]
        checkpoint = tmp_path / 'iter_4.pth'
        checkpoint.write_bytes(b'')  # dist_test.sh checks it exists; nothing reads it before the port check
        args = [TINY, 2] if script == 'dist_train.sh' else [TINY, checkpoint, 2]
        proc = run_command(
            'bash',
            f'tools/{script}',
            *args,
            '--work-dir',
            tmp_path / 'work',
            check=False,
            env=dict(PYTHON=sys.executable, PORT=str(port)),
            timeout=60)
    assert proc.returncode == 1, proc.stderr[-3000:]
    suggested = int(proc.stderr.split(' e.g. PORT=')[1].split()[0])
    said = f'{script}: port {port} is in use (another job?): set PORT=, e.g. PORT={suggested} tools/{script} '
    assert said in proc.stderr and suggested != port
    assert not (tmp_path / 'work').exists()


def test_dist_train_with_a_port_that_is_no_number():
    proc = run_command(
        'bash', 'tools/dist_train.sh', TINY, 2, env=dict(PYTHON=sys.executable, PORT='29x00'), check=False)
    assert proc.returncode == 2
    assert "dist_train.sh: PORT must be a port number (1-65535), got '29x00'" in proc.stderr


BATCH_OF_ONE = r'train_dataloader.batch_size=1 with BatchNorm in the model \(\d+ layers, e.g. generator\.'
LAST_BATCH_OF_ONE = 'train_dataloader: 21 images per process in batches of 10 end each epoch with a batch of'
BATCH_1 = {'train_dataloader.batch_size': 1}
EPOCHS = {'train_dataloader.sampler': dict(type='DefaultSampler'), 'train_dataloader.dataset.num_samples': 21}


@pytest.mark.parametrize(
    'loader, warning', [(BATCH_1, BATCH_OF_ONE), (EPOCHS, LAST_BATCH_OF_ONE)],
    ids=['batch_size_1', 'last_batch_of_an_epoch'])
def test_batch_of_one_with_batchnorm_warns_in_the_training_log(tmp_path, loader, warning):
    tiny_runner(tmp_path, **loader, **{'train_cfg.max_iters': 1}).train()
    log = open(glob.glob(str(tmp_path / '*' / '*.log'))[0]).read()
    assert re.search(f'WARNING - {warning}', log), log[-3000:]
