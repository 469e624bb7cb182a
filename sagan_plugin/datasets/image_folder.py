"""Your own images: ``data_root/<class name>/.../<image>`` (class = top-level folder, sub-folders at any
depth belong to it), or any folder of images for an unconditional model."""
import logging
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmagic.datasets import BasicConditionalDataset
from mmengine.logging import print_log
from PIL import Image

from sagan_plugin.registry import DATASETS
from .folder_cache import cache_key, file_signature, load_cache, save_cache
from .folder_checks import check_headers
from .folder_image import FITS, decode_small, parse_colour
from .folder_scan import IMAGE_EXTENSIONS, scan_folder, summary
from .image_file import decode_problem

_BAD_IMAGES = ('error', 'skip')


@DATASETS.register_module()
class ImageFolder(BasicConditionalDataset):
    """A folder of images, each item ``dict(gt=uint8 [image_size, image_size, 3] BGR, gt_label=int)``.

    mmagic's ``BasicConditionalDataset`` scans class folders too; this one adds what a folder of real-world
    images needs, and says in the log what it did:

    * images are decoded straight to ``image_size`` (:func:`.folder_image.decode_small`: downscaled while
      decoding, centre-cropped or padded to a square), so a 16,000 px source costs its decode once;
    * transparent pixels are blended onto ``background`` (mmagic's loader drops alpha, leaving the arbitrary
      colours under it); the number of images with alpha is logged;
    * images smaller than ``image_size`` are upsampled, and counted in the log;
    * ``cache``: every image decoded once, at start, into memory or a ``.npy`` file (:mod:`.folder_cache`);
    * classes with fewer than ``min_images_per_class`` images are left out, by name, with a warning; files
      that are not images by extension, hidden files and symbolic-link loops are counted in the log;
    * an unreadable image (empty, truncated, not an image) or one above ``max_image_pixels`` is an error
      naming the file and why, or under ``bad_images='skip'`` a logged, counted skip.

    Items come in a fixed pseudo-random order (seed 0), so the first N of them -- the evaluation's
    ``real_nums`` -- are a sample of every class, not the first classes.

    Args:
        data_root: the folder.
        image_size: side of the square images, pixels.
        conditional: classes from the top-level sub-folders (their names, sorted); False: every image at
            any depth, no labels (for ``model.num_classes=0``).
        min_images_per_class: smallest class kept.
        background: RGB under transparent pixels and around padded images; white by default.
        fit: ``'crop'`` (centre square, photos) or ``'pad'`` (whole image on ``background``, clip art).
        cache: None (decode on every draw), ``'memory'``, or a ``.npy`` path (kept across runs).
        bad_images: ``'error'`` or ``'skip'`` (see above). Without a cache, evaluation (``test_mode``)
            always stops at an unreadable image: a skip would change the statistics in silence.
        max_image_pixels: largest width x height decoded (PIL's decompression-bomb limit by default).
        extensions: file name endings read as images.
        **kwargs: :class:`mmagic.datasets.BasicConditionalDataset`'s (``pipeline``, ``test_mode``,
            ``metainfo``, ...).
    """

    def __init__(self,
                 data_root: str,
                 image_size: int,
                 conditional: bool = True,
                 min_images_per_class: int = 1,
                 background: Sequence[int] = (255, 255, 255),
                 fit: str = 'crop',
                 cache: Optional[str] = None,
                 bad_images: str = 'error',
                 max_image_pixels: Optional[int] = Image.MAX_IMAGE_PIXELS,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 **kwargs) -> None:
        if not data_root or not isinstance(data_root, str):
            raise ValueError(f'ImageFolder: data_root must name the image folder, got {data_root!r}')
        for name, value in dict(image_size=image_size, min_images_per_class=min_images_per_class).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'ImageFolder: {name} must be an integer >= 1, got {value!r}')
        checks = dict(fit=(fit, FITS), bad_images=(bad_images, _BAD_IMAGES))
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f'ImageFolder: {name} must be one of {allowed}, got {value!r}')
        if cache is not None and cache != 'memory' and not str(cache).endswith('.npy'):
            raise ValueError(
                f"ImageFolder: cache must be None, 'memory' or a path ending in .npy, got {cache!r}")
        if max_image_pixels is not None and (not isinstance(max_image_pixels, int) or max_image_pixels < 1):
            raise ValueError(
                f'ImageFolder: max_image_pixels must be a positive integer or None, got {max_image_pixels!r}')
        self.image_size, self.conditional, self.min_images_per_class = image_size, conditional, \
            min_images_per_class
        self.background, self.fit, self.cache = parse_colour(background,
                                                             'ImageFolder: background'), fit, cache
        self.bad_images, self.max_image_pixels = bad_images, max_image_pixels
        self.skipped, self.signature, self._images = 0, None, None
        super().__init__(data_root=data_root, extensions=extensions, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Scan the folder, check every header, and (with a cache) decode every image once."""
        if self.ann_file:
            raise ValueError(
                f'ImageFolder reads class folders, not lists (ann_file={self.ann_file!r}); for a '
                'list of files use the ImageNet dataset type')
        root = osp.normpath(self.img_prefix)
        scan = scan_folder(root, self.conditional, self.min_images_per_class, self.extensions)
        self._check_classes(root, scan)
        self._log_scan(root, scan)
        items = [dict(gt_path=path, gt_label=label) for path, label in scan.files]
        order = np.random.default_rng(0).permutation(len(items))
        items = self._readable([items[i] for i in order])
        if not self.conditional:
            for item in items:
                del item['gt_label']
        self.signature = file_signature([item['gt_path'] for item in items], root)
        if self.cache is not None:
            items = self._cached(items)
            if self.skipped:  # the fingerprint describes the images actually used
                self.signature = file_signature([item['gt_path'] for item in items], root)
        return items

    def _check_classes(self, root: str, scan) -> None:
        """Class names from the folder; names given in ``metainfo`` / ``classes`` must be the same."""
        if not self.conditional:
            return
        given = self._metainfo.get('classes')
        if given is not None and tuple(given) != tuple(scan.classes):
            raise ValueError(f'ImageFolder: metainfo classes {list(given)} differ from the class folders of '
                             f'{root}: {scan.classes}; remove the classes setting (the folder names are '
                             'used) or rename the folders')
        self._metainfo['classes'] = tuple(scan.classes)

    def _log_scan(self, root: str, scan) -> None:
        if scan.dropped:
            print_log(
                f'ImageFolder: left out {len(scan.dropped)} classes with fewer than min_images_per_class='
                f'{self.min_images_per_class} images: ' + ', '.join(f'{k!r} ({v})'
                                                                    for k, v in scan.dropped.items()) +
                '; lower min_images_per_class to keep them', 'current', logging.WARNING)
        left_out = summary(scan)
        if left_out:
            print_log(f'ImageFolder {root}: {left_out}', 'current', logging.WARNING)
        if self.conditional:
            counts = np.bincount([label for _, label in scan.files], minlength=len(scan.classes))
            small, large = int(np.argmin(counts)), int(np.argmax(counts))
            print_log(
                f'ImageFolder {root}: {len(scan.files)} images in {len(scan.classes)} classes, from '
                f'{counts[small]} ({scan.classes[small]!r}) to {counts[large]} ({scan.classes[large]!r}) a '
                'class', 'current')
        else:
            print_log(f'ImageFolder {root}: {len(scan.files)} images, no classes (conditional=False)',
                      'current')

    def _readable(self, items: List[dict]) -> List[dict]:
        """The items whose header is readable and whose size is allowed; the others follow ``bad_images``."""
        report = check_headers([item['gt_path'] for item in items], self.image_size, self.fit,
                               self.max_image_pixels)
        for path, problem, remedy in report.bad:
            self._bad_image(path, problem, remedy, cause=None, at_start=True)
        items = [items[i] for i in report.readable]
        if report.with_alpha:
            print_log(
                f'ImageFolder: {report.with_alpha} of {len(items)} images have transparency; transparent '
                f'pixels are blended onto background={self.background}', 'current')
        if report.small:
            path, width, height = report.small[0]
            print_log(
                f'ImageFolder: {len(report.small)} images are smaller than image_size={self.image_size} '
                f'(fit={self.fit!r}) and are upsampled, e.g. {path} ({width}x{height})', 'current',
                logging.WARNING)
        if not items:
            raise ValueError(f'ImageFolder {self.img_prefix}: none of its images can be read')
        return items

    def _cached(self, items: List[dict]) -> List[dict]:
        """Every image decoded once (or read from the ``.npy`` cache); items get ``cache_index``."""
        key = cache_key(self.signature, self._settings())
        images, kept, why = (None, None, 'cache in memory') if self.cache == 'memory' else \
            load_cache(self.cache, key)
        if images is None:
            print_log(f'ImageFolder: decoding {len(items)} images once ({why})', 'current')
            decoded = [self._decode(item['gt_path'], at_start=True) for item in items]
            kept = [i for i, image in enumerate(decoded) if image is not None]
            images = np.stack([decoded[i] for i in kept]) if kept else None
            if images is None:
                raise ValueError(f'ImageFolder {self.img_prefix}: none of its images can be decoded')
            if self.cache != 'memory':
                save_cache(self.cache, key, images, kept)
                print_log(f'ImageFolder: wrote {self.cache} ({images.nbytes / 2**20:.1f} MiB)', 'current')
        self._images = images
        return [dict(items[i], cache_index=n) for n, i in enumerate(kept)]

    def _settings(self) -> dict:
        """What the decoded pixels depend on besides the files."""
        return dict(
            image_size=self.image_size,
            fit=self.fit,
            background=list(self.background),
            max_image_pixels=self.max_image_pixels,
            bad_images=self.bad_images)

    def content_fingerprint(self) -> str:
        """Which files (names, sizes, times, so also classes) decoded how: the statistics cache compares it,
        so a folder changed after its statistics were computed is noticed."""
        self.full_init()  # no-op once loaded
        settings = ', '.join(f'{k}={v}' for k, v in self._settings().items() if k != 'bad_images')
        return f'{len(self)} images, sha256 {self.signature}; {settings}'

    def get_data_info(self, idx: int) -> dict:
        """The item, with its pixels when they are cached."""
        info = super().get_data_info(idx)
        if self._images is not None:
            info['gt'] = np.array(self._images[info.pop('cache_index')])  # a copy: the pipeline may write
        return info

    def prepare_data(self, idx: int) -> Optional[dict]:
        """The item through the pipeline, decoded here when there is no cache (None: skipped, another item
        is drawn by ``BaseDataset.__getitem__``)."""
        info = self.get_data_info(idx)
        if 'gt' not in info:
            info['gt'] = self._decode(info['gt_path'], at_start=False)
            if info['gt'] is None:
                return None
        # what mmagic's LoadImageFromFile records, for the transforms and the data preprocessor
        info.update(ori_gt_shape=info['gt'].shape, gt_channel_order='bgr', gt_color_type='color')
        return self.pipeline(info)

    def _decode(self, path: str, at_start: bool) -> Optional[np.ndarray]:
        """``image_size`` square BGR uint8 pixels of ``path``, or None when skipped under ``bad_images``."""
        try:
            return decode_small(path, self.image_size, self.background, self.fit).pixels
        except Exception as err:  # whatever PIL raised; decode_problem says why in words
            problem = decode_problem(path) or f'{type(err).__name__}: {err}'
            return self._bad_image(path, problem, 'replace or delete it', cause=err, at_start=at_start)

    def _bad_image(self, path: str, problem: str, remedy: str, cause: Optional[Exception],
                   at_start: bool) -> None:
        """An error naming the file, or under ``bad_images='skip'`` a logged, counted skip. Skips while
        drawing items in evaluation would change its statistics in silence, so evaluation stops there;
        skips at start change the list of files, which the statistics' fingerprint records."""
        if self.bad_images == 'error' or (self.test_mode and not at_start):
            raise ValueError(f'ImageFolder: image {path} cannot be read ({problem}); {remedy} '
                             "(with bad_images='skip' the dataset passes over such files)") from cause
        self.skipped += 1
        print_log(
            f'ImageFolder: skipped image {path} ({problem}); {self.skipped} skipped so far in this '
            'process', 'current', logging.WARNING)
        return None
