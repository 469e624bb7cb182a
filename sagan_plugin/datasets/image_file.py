"""One image file as a dataset meets it: its header (size, colour mode) before decoding, and, when decoding
failed, why — whatever library raised (OpenCV, PIL, mmcv) — so that the dataset can name the file.

PIL refuses images above twice ``Image.MAX_IMAGE_PIXELS`` (``DecompressionBombError``) and only warns between
one and two times it; OpenCV decodes up to 2^30 pixels (3 GiB as BGR). Neither limit is one a training run
wants met silently on every draw, so the size is checked here from the header, against a limit the dataset
sets, before anything is decoded.
"""
import contextlib
import io
import os
from typing import Iterator, Optional, Tuple

import mmcv
from PIL import Image, UnidentifiedImageError

# OpenCV's imgcodecs refuses larger images; each default can be changed by the environment variable named.
_CV2_LIMITS = (
    ('OPENCV_IO_MAX_IMAGE_WIDTH', 1 << 20, 'width'),
    ('OPENCV_IO_MAX_IMAGE_HEIGHT', 1 << 20, 'height'),
    ('OPENCV_IO_MAX_IMAGE_PIXELS', 1 << 30, 'pixels'),
)


@contextlib.contextmanager
def _pil_limit_lifted() -> Iterator[None]:
    """PIL's decompression-bomb check off, for reading a header whose size the caller then checks itself
    (PIL's error gives no width and height; its warning would pass in silence)."""
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def read_header(path: str) -> Optional[Tuple[int, int, str]]:
    """``(width, height, mode)`` from the file's header (PIL reads only its first bytes); None when PIL cannot
    tell (an empty or damaged file, a format only OpenCV knows): the decoder then tries, and
    :func:`decode_problem` explains its failure."""
    try:
        with _pil_limit_lifted(), Image.open(path) as image:
            return image.size[0], image.size[1], image.mode
    except Exception:  # PIL raises several types for files it cannot read; decode_problem will say which
        return None


def size_problem(width: int, height: int, max_pixels: Optional[int]) -> Optional[Tuple[str, str]]:
    """Why an image of this size is not decoded and what allows it, or None: above ``max_pixels`` (the
    dataset's ``max_image_pixels``) or OpenCV's limits."""
    pixels = width * height
    size = f'{width}x{height} = {pixels:,} pixels, {3 * pixels / 2**20:,.0f} MiB decoded'
    if max_pixels is not None and pixels > max_pixels:
        return (f'too large: {size}, above max_image_pixels={max_pixels:,}',
                f'resize it, or allow it on the dataset, e.g. --cfg-options '
                f'train_dataloader.dataset.max_image_pixels={pixels}')
    values = dict(width=width, height=height, pixels=pixels)
    for variable, default, what in _CV2_LIMITS:
        limit = int(os.environ.get(variable, default))
        if values[what] > limit:
            return (f'too large for OpenCV: {size}, {what} above {limit:,}',
                    f'resize it, or raise OpenCV\'s limit: {variable}={values[what]} in the environment')
    return None


def decode_problem(path: str) -> Optional[str]:
    """Why ``path`` does not decode as an image, or None if it does. It never raises: it explains another
    failure (OpenCV's ``!buf.empty()``, PIL's errors, mmagic's ``'NoneType' object has no attribute
    'ndim'``)."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as err:
        return f'cannot be opened: {err}'
    if not data:
        return 'the file is empty: 0 bytes'
    try:
        if mmcv.imfrombytes(data) is not None:
            return None
        opencv = 'OpenCV cannot decode it'
    except Exception as err:  # cv2.error and others: the reason is in the message
        opencv = f'OpenCV cannot decode it: {str(err).strip().splitlines()[-1]}'
    try:
        with _pil_limit_lifted(), Image.open(io.BytesIO(data)) as image:
            image.load()
    except UnidentifiedImageError:
        return (f'not an image: neither OpenCV nor PIL knows its format ({len(data):,} bytes, starting '
                f'{data[:12]!r})')
    except Exception as err:  # PIL raises several types for broken files; its message is the reason
        return f'truncated or corrupt: {type(err).__name__}: {err}'
    return f'{opencv}, though PIL can: convert it to JPEG or PNG'
