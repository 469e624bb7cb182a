"""EfficientNet-Lite0 is really loaded: it classifies foolbox's 20 ImageNet photos; its errors are clear."""
import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch
from PIL import Image

from sagan_plugin.evaluation import ClassifierScore, EfficientNetLite0Classifier
from sagan_plugin.evaluation.classifier_score import DEFAULT_PREFIX
from sagan_plugin.evaluation.weights import EFFNET_LITE0_SHA256, package_file


def imagenet_eval_crop(path: str) -> np.ndarray:
    """timm's evaluation transform: bicubic resize of the short side to 224 / 0.875, centre crop 224."""
    image = Image.open(path).convert('RGB')
    scale = 256 / min(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BICUBIC)
    left, top = (image.width - 224) // 2, (image.height - 224) // 2
    return np.asarray(image.crop((left, top, left + 224, top + 224)))


def foolbox_imagenet_photos():
    """uint8 [20, 3, 224, 224] photos and their ImageNet labels (foolbox/data/imagenet_<i>_<label>.jpg)."""
    folder = package_file('foolbox', 'data')
    paths = sorted(
        glob.glob(osp.join(folder, 'imagenet_*.jpg')) + glob.glob(osp.join(folder, 'imagenet_*.png')))
    assert len(paths) == 20, f'expected foolbox\'s 20 ImageNet photos in {folder}, found {len(paths)}'
    labels = [int(re.match(r'imagenet_\d+_(\d+)\.', osp.basename(p)).group(1)) for p in paths]
    images = np.stack([imagenet_eval_crop(p) for p in paths])
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.tensor(labels)


@pytest.fixture(scope='module')
def classifier():
    return EfficientNetLite0Classifier()


def test_classifies_real_imagenet_photos(classifier):
    images, labels = foolbox_imagenet_photos()
    with torch.no_grad():
        probs = classifier(images)
    top1 = (probs.argmax(1) == labels).float().mean().item()
    top5 = (probs.topk(5).indices == labels[:, None]).any(1).float().mean().item()
    # Published top-1 is 75%; random weights or a wrong key mapping give ~0.
    assert top1 >= 0.7 and top5 >= 0.9, (top1, top5)
    assert torch.allclose(probs.sum(1), torch.ones(20))


def test_missing_weights_name_file_and_checksum(tmp_path):
    missing = str(tmp_path / 'efficientnet-lite0-57934424.pth')
    with pytest.raises(FileNotFoundError, match=f'(?s){missing}.*{EFFNET_LITE0_SHA256}.*efficientnet-lite0'):
        EfficientNetLite0Classifier(missing)


def test_wrong_weights_file_is_refused(tmp_path):
    wrong = tmp_path / 'efficientnet-lite0-57934424.pth'
    torch.save({'_conv_stem.weight': torch.zeros(32, 3, 3, 3)}, str(wrong))
    with pytest.raises(ValueError, match=f'expected {EFFNET_LITE0_SHA256}'):
        EfficientNetLite0Classifier(str(wrong))


def test_classifier_score_is_labelled_not_is():
    metric = ClassifierScore(fake_nums=20, splits=2)
    images, _ = foolbox_imagenet_photos()
    bgr = images[:, [2, 1, 0]].float()  # what mmagic hands a metric
    metric.process({}, [dict(fake_img=img) for img in bgr])
    result = metric.evaluate()
    assert set(result) == {f'{DEFAULT_PREFIX}/classifier_score', f'{DEFAULT_PREFIX}/classifier_score_std'}
    assert 'NOT-IS' in DEFAULT_PREFIX
    # 20 photos of ~20 different classes, confidently classified: the score is high (perfect would be 10 per
    # split).
    assert result[f'{DEFAULT_PREFIX}/classifier_score'] > 4
