"""ImageNet in the standard folder layout (mmagic's), checked before training instead of days into it."""
import io
import logging
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Set

import mmcv
from mmagic.datasets import ImageNet as MMagicImageNet
from mmengine.logging import print_log
from PIL import Image

from sagan_plugin.registry import DATASETS

_BAD_IMAGES = ('error', 'skip')


@DATASETS.register_module()
class ImageNet(MMagicImageNet):
    """mmagic's ``ImageNet`` (``data_root/train/<wnid>/<image>.JPEG`` + ``meta/train.txt`` lines
    ``"<wnid>/<image> <label>"``) with the list checked when the dataset is built:

    * a malformed line or a label outside the class list is an error naming ``file:line``;
    * every listed image must exist (one directory listing per folder: seconds for 1.28M images);
    * an image that cannot be decoded (truncated, corrupt) is an error naming the file, where mmagic's
      loader fails with ``'NoneType' object has no attribute 'ndim'``;
    * grey, RGBA, CMYK or palette images are converted to 3 colour channels by ``LoadImageFromFile``
      (``color_type='color'``: grey repeated, alpha dropped); the first such image is named in the log,
      once per process.

    In ``mmagic`` scope the unchecked original stays available as ``mmagic.ImageNet``.

    Args:
        bad_images: ``'error'`` stops at a missing or unreadable image. ``'skip'`` leaves missing files out
            at start (count and examples in the log) and, in training, replaces an unreadable image by
            another random one (each one logged with a running count); evaluation always stops, since a
            skipped image would change the statistics.
        **kwargs: the arguments of mmagic's ``ImageNet`` (``data_root``, ``ann_file``, ``data_prefix``,
            ``pipeline``, ``test_mode``, ...).
    """

    def __init__(self, bad_images: str = 'error', **kwargs) -> None:
        if bad_images not in _BAD_IMAGES:
            raise ValueError(f'ImageNet: bad_images must be one of {_BAD_IMAGES}, got {bad_images!r}')
        self.bad_images, self.skipped, self._colour_noted = bad_images, 0, False
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        if not self.ann_file:  # classes from the folder names: every file found exists
            return super().load_data_list()
        if not self.ann_file.endswith('.txt'):
            raise ValueError(
                f'ImageNet: ann_file {self.ann_file} must be a .txt list ("<image> <label>" lines)')
        return self._existing(self._read_list())

    def _read_list(self) -> List[dict]:
        """Parse the annotation list ourselves: mmagic's parser names no line and keeps bad labels as text."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'ImageNet: annotation file {self.ann_file} does not exist '
                                    f'(data_root={self.data_root}); set data_root to your ImageNet folder')
        num_classes = len(self.CLASSES) if self.CLASSES else None
        data_list = []
        with open(self.ann_file) as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                name, _, label = line.strip().rpartition(' ')
                where = f'{self.ann_file}:{number}'
                if not name or not label.isdigit():
                    raise ValueError(
                        f'{where}: expected "<image path> <integer label>", got {line.strip()!r}')
                if num_classes is not None and int(label) >= num_classes:
                    raise ValueError(
                        f'{where}: label {label} is outside [0, {num_classes}) (the dataset\'s classes)')
                data_list.append(dict(gt_path=osp.join(self.img_prefix, name), gt_label=int(label)))
        if not data_list:
            raise ValueError(f'ImageNet: {self.ann_file} lists no images')
        return data_list

    def _existing(self, data_list: List[dict]) -> List[dict]:
        """The items whose file exists; the others are an error, or left out and counted (bad_images)."""
        start, listings = time.time(), {}
        missing = [item['gt_path'] for item in data_list if not _exists(item['gt_path'], listings)]
        print_log(
            f'ImageNet: {len(data_list) - len(missing)} of the {len(data_list)} images listed in '
            f'{self.ann_file} exist (checked in {time.time() - start:.1f} s)', 'current')
        if not missing:
            return data_list
        examples = ', '.join(missing[:3])
        if self.bad_images == 'error':
            raise FileNotFoundError(
                f'ImageNet: {len(missing)} images listed in {self.ann_file} do not exist, e.g. {examples}; '
                "fix the list, or leave them out with bad_images='skip' on the dataset")
        print_log(f"ImageNet: bad_images='skip': leaving out {len(missing)} missing images, e.g. {examples}",
                  'current', logging.WARNING)
        missing_set = set(missing)
        return [item for item in data_list if item['gt_path'] not in missing_set]

    def prepare_data(self, idx: int) -> Optional[dict]:
        """mmagic's ``prepare_data`` (the item through the pipeline), naming the file when it fails."""
        info = self.get_data_info(idx)
        path = info['gt_path']
        self._note_colour(path)
        try:
            return self.pipeline(info)
        except Exception as err:
            problem = _decode_problem(path)
            if problem is None:  # the image decodes: the failure is elsewhere in the pipeline
                raise RuntimeError(f'ImageNet item {idx} ({path}): {type(err).__name__}: {err}') from err
            if self.bad_images == 'error' or self.test_mode:
                raise ValueError(f'ImageNet: image {path} cannot be read ({problem}); replace or delete it '
                                 "(with bad_images='skip' training passes over such files)") from err
            self.skipped += 1
            print_log(
                f'ImageNet: skipped unreadable image {path} ({problem}); {self.skipped} skipped so far '
                'in this process', 'current', logging.WARNING)
            return None  # BaseDataset.__getitem__ then draws another item

    def _note_colour(self, path: str) -> None:
        """Say once per process that non-RGB images are converted (reads only the file header)."""
        if self._colour_noted:
            return
        try:
            with Image.open(path) as image:
                mode = image.mode
        except (OSError, ValueError):
            return  # the pipeline reports the file
        if mode != 'RGB':
            self._colour_noted = True
            print_log(
                f'ImageNet: {path} is a {mode} image; LoadImageFromFile converts such images (grey, '
                'RGBA, CMYK, palette) to 3 colour channels. Said once per process.', 'current',
                logging.WARNING)


def _exists(path: str, listings: Dict[str, Set[str]]) -> bool:
    """Whether ``path`` is in its folder, listing each folder once (far fewer calls than a stat per file)."""
    folder, name = osp.split(path)
    if folder not in listings:
        try:
            listings[folder] = set(os.listdir(folder or '.'))
        except (FileNotFoundError, NotADirectoryError):
            listings[folder] = set()
    return name in listings[folder]


def _decode_problem(path: str) -> Optional[str]:
    """Why ``path`` does not decode as an image (PIL's message when it has one); None if it decodes."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as err:
        return str(err)
    if mmcv.imfrombytes(data) is not None:
        return None
    try:
        Image.open(io.BytesIO(data)).load()
    except Exception as err:  # PIL raises several types for broken files; its message is the reason
        return f'truncated or corrupt: {err}'
    return 'OpenCV cannot decode it'
