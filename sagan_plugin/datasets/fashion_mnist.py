"""Fashion-MNIST read straight from the IDX files that Debian's ``dataset-fashion-mnist`` installs."""
import gzip
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import BaseDataset

from sagan_plugin.registry import DATASETS

# The IDX magic numbers: 0x00000803 = unsigned-byte 3-D array (images), 0x00000801 = 1-D (labels).
_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049
_FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
           'Ankle boot')


def read_idx(path: str, magic: int, ndim: int) -> np.ndarray:
    """Read one gzipped IDX file into a uint8 array, with clear errors for a wrong or truncated file."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found; install Debian\'s dataset-fashion-mnist '
            '(tools/setup.sh does) or set data_root to a folder holding the IDX .gz files')
    try:
        with gzip.open(path, 'rb') as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f'{path} is not a readable gzip file: {err}') from err
    header = np.frombuffer(raw[:4 + 4 * ndim], dtype='>u4')
    if len(header) != 1 + ndim or header[0] != magic:
        raise ValueError(f'{path}: not an IDX file with magic {magic} (got header {header.tolist()})')
    shape = tuple(int(n) for n in header[1:])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f'{path}: truncated, expected {int(np.prod(shape))} bytes of data, got {body.size}')
    return body.reshape(shape)


@DATASETS.register_module()
class FashionMNIST(BaseDataset):
    """Fashion-MNIST (Xiao et al. 2017, MIT licence): 28×28 grey garments in 10 classes.

    Each item is ``dict(gt=uint8 array [28, 28, 3], gt_label=int)``; the grey channel is repeated three
    times so the images go through the same RGB pipeline, metrics and visualisers as ImageNet. Resize with
    mmagic's ``Resize`` in the pipeline and pack with ``PackInputs``.

    Args:
        data_root: folder with the four ``*-idx*-ubyte.gz`` files.
        split: ``'train'`` (60,000 images) or ``'test'`` (10,000).
        num_samples: keep only the first ``num_samples`` items (tests, quick FID); None keeps all.
        **kwargs: the rest of :class:`mmengine.dataset.BaseDataset` (``pipeline``, ``test_mode``, ...).
    """
    METAINFO = dict(classes=CLASSES)

    def __init__(self,
                 data_root: str = '/usr/share/datasets/fashion-mnist',
                 split: str = 'train',
                 num_samples: Optional[int] = None,
                 **kwargs):
        if split not in _FILES:
            raise ValueError(f'FashionMNIST: split must be one of {sorted(_FILES)}, got {split!r}')
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples < 1):
            raise ValueError(
                f'FashionMNIST: num_samples must be a positive integer or None, got {num_samples!r}')
        self.split, self.num_samples = split, num_samples
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        image_file, label_file = (osp.join(self.data_root, name) for name in _FILES[self.split])
        images = read_idx(image_file, _IMAGE_MAGIC, ndim=3)
        labels = read_idx(label_file, _LABEL_MAGIC, ndim=1)
        if len(images) != len(labels):
            raise ValueError(
                f'{image_file} has {len(images)} images but {label_file} has {len(labels)} labels')
        if self.num_samples is not None and self.num_samples > len(images):
            raise ValueError(f'FashionMNIST: num_samples={self.num_samples} but {image_file} has only '
                             f'{len(images)} images')
        stop = len(images) if self.num_samples is None else self.num_samples
        return [
            dict(gt=img, gt_label=int(label), sample_idx=i)
            for i, (img, label) in enumerate(zip(images[:stop], labels[:stop]))
        ]

    def get_data_info(self, idx: int) -> dict:
        """The item with the grey image repeated to 3 channels (the data list keeps one: 3x less memory)."""
        info = super().get_data_info(idx)
        info['gt'] = np.repeat(info['gt'][..., None], 3, axis=2)
        return info
