"""ImageNet in the standard folder layout (mmagic's), checked before training instead of days into it."""
import logging
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Set, Tuple

from mmagic.datasets import ImageNet as MMagicImageNet
from mmengine.logging import print_log
from PIL import Image

from sagan_plugin.registry import DATASETS
from .image_file import decode_problem, read_header, size_problem

_BAD_IMAGES = ('error', 'skip')


@DATASETS.register_module()
class ImageNet(MMagicImageNet):
    """mmagic's ``ImageNet`` (``data_root/train/<wnid>/<image>.JPEG`` + ``meta/train.txt`` lines
    ``"<wnid>/<image> <label>"``) with the list checked when the dataset is built:

    * a malformed line or a label outside the class list is an error naming ``file:line``;
    * every listed image must exist (one directory listing per folder: seconds for 1.28M images);
    * an image that cannot be read (empty, truncated, corrupt, not an image, too large), whatever library
      raised, is an error naming the file and why, where mmagic's loader fails with ``'NoneType' object has
      no attribute 'ndim'``, OpenCV's ``!buf.empty()`` or PIL's ``DecompressionBombError``;
    * an image above ``max_image_pixels`` is refused from its header, before it is decoded;
    * grey, RGBA, CMYK or palette images are converted to 3 colour channels by ``LoadImageFromFile``
      (``color_type='color'``: grey repeated, alpha dropped); the first such image is named in the log,
      once per process.

    In ``mmagic`` scope the unchecked original stays available as ``mmagic.ImageNet``.

    Args:
        bad_images: ``'error'`` stops at a missing or unreadable image. ``'skip'`` leaves missing files out
            at start (count and examples in the log) and, in training, replaces an unreadable image by
            another random one (each one logged with a running count); evaluation always stops, since a
            skipped image would change the statistics.
        max_image_pixels: the largest image (width x height) decoded; a larger one is an error naming it and
            its size (or a skip), read from its header. Default: PIL's decompression-bomb limit (89,478,485
            pixels, 256 MiB as RGB), up to twice which PIL itself only warns and decodes; None: no limit but
            OpenCV's (2^30 pixels).
        **kwargs: the arguments of mmagic's ``ImageNet`` (``data_root``, ``ann_file``, ``data_prefix``,
            ``pipeline``, ``test_mode``, ...).
    """

    def __init__(self,
                 bad_images: str = 'error',
                 max_image_pixels: Optional[int] = Image.MAX_IMAGE_PIXELS,
                 **kwargs) -> None:
        if bad_images not in _BAD_IMAGES:
            raise ValueError(f'ImageNet: bad_images must be one of {_BAD_IMAGES}, got {bad_images!r}')
        if max_image_pixels is not None and (not isinstance(max_image_pixels, int) or max_image_pixels < 1):
            raise ValueError(
                f'ImageNet: max_image_pixels must be a positive integer or None, got {max_image_pixels!r}')
        self.bad_images, self.max_image_pixels = bad_images, max_image_pixels
        self.skipped, self._colour_noted = 0, False
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
        """mmagic's ``prepare_data`` (the item through the pipeline), after a look at the image's header: a
        failure while reading the image, whatever raised it, names the file and follows ``bad_images``."""
        info = self.get_data_info(idx)
        path = info['gt_path']
        refused = self._check_header(path)
        if refused is not None:  # too large: not decoded, not even to say why
            return self._bad_image(path, *refused, cause=None)
        try:
            return self.pipeline(info)
        except Exception as err:
            problem = decode_problem(path)
            if problem is None:  # the image decodes: the failure is elsewhere in the pipeline
                raise RuntimeError(f'ImageNet item {idx} ({path}): {type(err).__name__}: {err}') from err
            return self._bad_image(path, problem, 'replace or delete it', cause=err)

    def _check_header(self, path: str) -> Optional[Tuple[str, str]]:
        """(why, what allows it) when the header says the image is too large to decode, else None; notes the
        colour mode. A header PIL cannot read passes: the decoder tries, and decode_problem explains."""
        header = read_header(path)
        if header is None:
            return None
        width, height, mode = header
        refused = size_problem(width, height, self.max_image_pixels)
        if refused is None:
            self._note_colour(path, mode)
        return refused

    def _bad_image(self, path: str, problem: str, remedy: str, cause: Optional[Exception]) -> None:
        """An error naming the file, or under ``bad_images='skip'`` in training a logged, counted skip."""
        if self.bad_images == 'error' or self.test_mode:
            raise ValueError(f'ImageNet: image {path} cannot be read ({problem}); {remedy} '
                             "(with bad_images='skip' training passes over such files)") from cause
        self.skipped += 1
        print_log(
            f'ImageNet: skipped unreadable image {path} ({problem}); {self.skipped} skipped so far '
            'in this process', 'current', logging.WARNING)
        return None  # BaseDataset.__getitem__ then draws another item

    def _note_colour(self, path: str, mode: str) -> None:
        """Say once per process that non-RGB images are converted."""
        if mode != 'RGB' and not self._colour_noted:
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
