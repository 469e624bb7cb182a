"""Titles drawn into pictures (legible at small image sizes): the text of grids and attention figures."""
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

PAD = 2  # pixels between cells
FONT_SIZE = 11


@lru_cache(maxsize=4)
def font(size: int = FONT_SIZE) -> ImageFont.ImageFont:
    """Pillow's built-in font at ``size`` px (scalable with FreeType, Pillow's bitmap font otherwise)."""
    return ImageFont.load_default(size=size)


def text_image(text: str, size: int = FONT_SIZE) -> Image.Image:
    """Black ``text`` (ASCII: the fallback font has no other glyphs) on white, cropped tight."""
    left, top, right, bottom = font(size).getbbox(text)
    image = Image.new('RGB', (right - left + 2, bottom - top + 2), 'white')
    ImageDraw.Draw(image).text((1 - left, 1 - top), text, fill='black', font=font(size))
    return image
