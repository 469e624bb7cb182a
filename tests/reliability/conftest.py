"""Shared by the reliability tests: the tiny demo in-process, and an ImageNet-layout folder of real photos."""
import glob
import os
import os.path as osp
import shutil

import foolbox
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tests.conftest import REPO, build_runner

TINY = osp.join(REPO, 'tests', 'data', 'tiny_demo.py')
FOOLBOX_JPEGS = sorted(glob.glob(osp.join(osp.dirname(foolbox.__file__), 'data', 'imagenet_*.jpg')))


def tiny_runner(work_dir, resume_from=None, resume=False, **overrides) -> Runner:
    """The tiny demo (tests/data/tiny_demo.py: real Fashion-MNIST, 4 iterations, checkpoints at 2 and 4) as
    a Runner; ``overrides`` are --cfg-options style keys (``train_cfg.max_iters=6``); a top-level key is
    replaced as a whole (``val_dataloader=dict(...)``)."""
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({key: value for key, value in overrides.items() if '.' in key})
    for key in [key for key in overrides if '.' not in key]:
        cfg[key] = overrides[key]
    cfg.work_dir = str(work_dir)
    cfg.resume, cfg.load_from = resume or resume_from is not None, resume_from and str(resume_from)
    return build_runner(cfg)


def make_imagenet(root, num_images: int = 20) -> str:
    """An ImageNet-layout folder (train/<wnid>/<image>.JPEG, meta/train.txt) from foolbox's 20 real ImageNet
    photos; the label is in each file name (imagenet_<index>_<label>.jpg). Returns the root."""
    lines = []
    for path in FOOLBOX_JPEGS[:num_images]:
        index, label = osp.splitext(osp.basename(path))[0].split('_')[1:]
        name = f'n{int(label):08d}/ILSVRC2012_train_{index}.JPEG'
        dest = osp.join(root, 'train', name)
        os.makedirs(osp.dirname(dest), exist_ok=True)
        shutil.copyfile(path, dest)
        lines.append(f'{name} {label}\n')
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    with open(osp.join(root, 'meta', 'train.txt'), 'w') as f:
        f.writelines(lines)
    return str(root)


NAN_KEY = 'generator.linear.weight_orig'  # the raw generator's first layer


@pytest.fixture(scope='session')
def trained(tmp_path_factory):
    """A finished tiny run (iter_4.pth: G, EMA G, D, optimizers) and a copy with NaN in the raw generator."""
    work_dir = tmp_path_factory.mktemp('trained')
    tiny_runner(work_dir).train()
    checkpoint = torch.load(work_dir / 'iter_4.pth', weights_only=True)
    checkpoint['state_dict'][NAN_KEY][0, :3] = float('nan')
    torch.save(checkpoint, work_dir / 'nan.pth')  # a valid archive: only its values are wrong
    return work_dir
