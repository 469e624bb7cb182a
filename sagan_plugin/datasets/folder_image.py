"""One image of a folder data set decoded straight to a small square: downscaled while decoding, transparent
pixels put on a background colour, then cropped or padded to a square and resized.

Why not mmagic's ``LoadImageFromFile`` + ``Resize``: OpenCV drops the alpha channel (the RGB values under
transparent pixels are arbitrary: often black, sometimes noise) and decodes a 16,000 px clip-art image at full
size on every draw. Here JPEG is decoded at 1/2, 1/4 or 1/8 size in the DCT domain (PIL's ``draft``) and any
other format is box-reduced by an integer factor right after decoding (PIL's ``reduce``), so the expensive
part is paid once, and with a cache (:mod:`.folder_cache`) never again.
"""
from typing import NamedTuple, Sequence, Tuple

import numpy as np
from PIL import Image

from .image_file import _pil_limit_lifted

FITS = ('crop', 'pad')
# Modes whose pixels carry transparency; 'P' and others may carry it in info['transparency'].
_ALPHA_MODES = ('RGBA', 'LA', 'PA', 'RGBa', 'La')


class SmallImage(NamedTuple):
    """A decoded image: ``pixels`` uint8 [size, size, 3] BGR (the channel order of mmagic's loaders and
    metrics), the source's ``mode`` and ``(width, height)``, and whether it had an alpha channel."""
    pixels: np.ndarray
    mode: str
    source_size: Tuple[int, int]
    had_alpha: bool


def parse_colour(colour: Sequence[int], what: str = 'background') -> Tuple[int, int, int]:
    """An RGB triple of ints in [0, 255], or a ValueError naming ``what``."""
    if (not isinstance(colour, (list, tuple)) or len(colour) != 3
            or not all(isinstance(c, int) and 0 <= c <= 255 for c in colour)):
        raise ValueError(f'{what} must be an RGB colour of three integers in [0, 255], e.g. (255, 255, 255) '
                         f'for white, got {colour!r}')
    return tuple(colour)


def has_alpha(image: Image.Image) -> bool:
    """Whether the image has transparency: an alpha channel, or a palette / grey / RGB transparency key."""
    return image.mode in _ALPHA_MODES or 'transparency' in image.info


def _to_rgb(image: Image.Image, background: Tuple[int, int, int]) -> Image.Image:
    """RGB, with transparent pixels alpha-blended onto ``background`` (never the colour under the alpha)."""
    if has_alpha(image):
        rgba = image.convert('RGBA')
        canvas = Image.new('RGBA', rgba.size, background + (255, ))
        return Image.alpha_composite(canvas, rgba).convert('RGB')
    if image.mode in ('I', 'I;16', 'I;16B', 'I;16L', 'F'):  # 16-bit / float grey: scale to 8 bits
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith('I') and values.max() > 255 else 255.0
        return Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)).convert('RGB')
    return image.convert('RGB')


def _reduced_rgb(image: Image.Image,
                 factor: int,
                 background: Tuple[int, int, int],
                 rows: int = 2048) -> Image.Image:
    """``_to_rgb`` then ``reduce(factor)``, a band of rows at a time: alpha is blended before averaging (so
    the colours under transparent pixels never leak into the result), and a 20,000 px RGBA poster needs
    only its decoded pixels in memory, not three full-size copies of them."""
    width, height = image.size
    step = factor * max(1, rows // factor)  # bands of whole boxes, so the bands' results tile exactly
    out = Image.new('RGB', (-(-width // factor), -(-height // factor)))
    for top in range(0, height, step):
        band = _to_rgb(image.crop((0, top, width, min(height, top + step))), background)
        out.paste(band.reduce(factor), (0, top // factor))
    return out


def _square(image: Image.Image, fit: str, background: Tuple[int, int, int]) -> Image.Image:
    """The centred square of the short side (``crop``) or the image centred on a square of ``background``
    (``pad``: nothing is cut off, the choice for clip art and logos)."""
    width, height = image.size
    side = min(width, height) if fit == 'crop' else max(width, height)
    if width == height:
        return image
    if fit == 'crop':
        left, top = (width - side) // 2, (height - side) // 2
        return image.crop((left, top, left + side, top + side))
    canvas = Image.new('RGB', (side, side), background)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas


def decode_small(path: str,
                 size: int,
                 background: Tuple[int, int, int] = (255, 255, 255),
                 fit: str = 'crop') -> SmallImage:
    """Decode ``path`` to a ``size`` x ``size`` BGR uint8 image.

    The caller has checked the size from the header (``image_file.size_problem``), so PIL's own
    decompression-bomb limit is lifted here. A file that cannot be decoded raises PIL's error (the dataset
    then explains it with ``image_file.decode_problem``).

    Args:
        path: the image file.
        size: side of the square output, pixels.
        background: RGB colour under transparent pixels and around a padded image.
        fit: ``'crop'`` (centre square of the short side) or ``'pad'`` (whole image on a square).

    Returns:
        A :class:`SmallImage` with ``pixels`` uint8 [size, size, 3] in BGR order.
    """
    with _pil_limit_lifted(), Image.open(path) as image:
        mode, source_size, alpha = image.mode, image.size, has_alpha(image)
        # the side that ends up as ``size`` pixels: the short one when cropping, the long one when padding
        target_side = min(image.size) if fit == 'crop' else max(image.size)
        wanted = tuple(max(1, s * size // target_side) for s in image.size)
        if image.format == 'JPEG':  # decode at the smallest 1/2^k scale still >= twice the output
            image.draft('RGB', tuple(2 * w for w in wanted))
        image.load()
        # box-average by an integer factor while the target side stays >= 2x the output: cheap, and LANCZOS
        # then only has a small image to resample
        factor = (min(image.size) if fit == 'crop' else max(image.size)) // (2 * size)
        rgb = _reduced_rgb(image, factor, background) if factor > 1 else _to_rgb(image, background)
    rgb = _square(rgb, fit, background)
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size),
                         Image.Resampling.LANCZOS if rgb.width > size else Image.Resampling.BICUBIC)
    return SmallImage(np.ascontiguousarray(np.asarray(rgb)[..., ::-1]), mode, source_size, alpha)
