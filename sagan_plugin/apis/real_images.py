"""Real images as the discriminator sees them in training: the config's dataset, or image files, through
the same data preprocessor (uint8 → the network's range)."""
import os.path as osp
from typing import Optional, Sequence, Tuple

from mmengine.dataset import Compose, pseudo_collate
from torch import Tensor, nn

from sagan_plugin.models.network import check_label_range
from sagan_plugin.models.sampling import network
from sagan_plugin.registry import DATASETS


def _preprocess(model: nn.Module, items: Sequence[dict]) -> Tensor:
    """Packed dataset items → B×C×S×S in D's input range (training mode normalises ``gt_img``)."""
    data = model.data_preprocessor(pseudo_collate(list(items)), True)
    return data['data_samples'].gt_img


def dataset_images(model: nn.Module,
                   classes: Optional[Tensor],
                   num: int = 4) -> Tuple[Tensor, Optional[Tensor]]:
    """Images from the config's training set: the first of each class in ``classes``, or the first ``num``.

    Args:
        model: a SAGAN from :func:`init_model` (its ``cfg.train_dataloader.dataset`` is built).
        classes: class ids (one image each), or None (unconditional: the first ``num`` items).
        num: images when ``classes`` is None.

    Returns:
        B×C×S×S images in D's input range, and their B class ids (None for an unconditional model).
    """
    cfg = model.cfg.get('train_dataloader')
    if not cfg or not cfg.get('dataset'):
        raise ValueError('the config has no train_dataloader.dataset to read real images from; '
                         'give image files instead')
    dataset = DATASETS.build(cfg.dataset)
    if classes is None:
        indices = list(range(min(num, len(dataset))))
    else:
        first = {}
        for i in range(len(dataset)):
            first.setdefault(int(dataset.get_data_info(i)['gt_label']), i)
            if all(c in first for c in classes.tolist()):
                break
        absent = [c for c in classes.tolist() if c not in first]
        if absent:
            raise ValueError(f'classes {absent} do not occur in the config\'s training set')
        indices = [first[c] for c in classes.tolist()]
    images = _preprocess(model, [dataset[i] for i in indices])
    return images, None if classes is None or not model.num_classes else classes.clone()


def file_images(model: nn.Module, paths: Sequence[str],
                classes: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
    """Image files read, resized to D's input size and normalised as in training.

    Args:
        model: the SAGAN.
        paths: image files (any format mmcv reads).
        classes: for a conditional model, one class id per file, or one for all files.

    Returns:
        B×C×S×S images in D's input range, and their B class ids (None if unconditional).
    """
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'image file {path} does not exist')
    if model.num_classes:
        if classes is None or len(classes) not in (1, len(paths)):
            raise ValueError(f'a conditional discriminator needs a class per image: give --classes with one '
                             f'id for all {len(paths)} files or one per file')
        check_label_range(classes, model.num_classes, 'class')
        classes = classes.expand(len(paths)).clone()
    size = network(model, 'discriminator').input_scale
    pipeline = Compose([
        dict(type='LoadImageFromFile', key='gt'),  # mmagic's reader, as its image data sets use
        dict(type='Resize', keys='gt', scale=(size, size), backend='pillow'),
        dict(type='PackInputs'),
    ])
    images = _preprocess(model, [pipeline(dict(gt_path=path)) for path in paths])
    return images, classes if model.num_classes else None
