"""The look at every image's header that a folder data set takes before training: what cannot be read or
is too large (named, before anything is decoded), how many images have alpha, which are smaller than the
output."""
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from PIL import Image

from .folder_image import has_alpha
from .image_file import _pil_limit_lifted, decode_problem, size_problem


@dataclass
class HeaderReport:
    """What :func:`check_headers` found.

    Attributes:
        readable: indices of the items whose header is readable and whose size is allowed.
        bad: (path, why, what to do) of the others.
        with_alpha: how many readable images have transparency.
        small: (path, width, height) of readable images smaller than the output (upsampled).
    """
    readable: List[int] = field(default_factory=list)
    bad: List[Tuple[str, str, str]] = field(default_factory=list)
    with_alpha: int = 0
    small: List[Tuple[str, int, int]] = field(default_factory=list)


def read_image_header(path: str) -> Optional[Tuple[int, int, bool]]:
    """(width, height, has transparency) from the header, or None when PIL cannot read it."""
    try:
        with _pil_limit_lifted(), Image.open(path) as image:
            return image.size[0], image.size[1], has_alpha(image)
    except Exception:  # PIL raises many types for damaged files; decode_problem says which
        return None


def check_headers(paths: List[str], size: int, fit: str, max_pixels: Optional[int]) -> HeaderReport:
    """Read each header of ``paths``; ``size``/``fit`` decide what counts as smaller than the output (the
    short side when cropping, the long side when padding)."""
    report = HeaderReport()
    for index, path in enumerate(paths):
        header = read_image_header(path)
        if header is None:
            report.bad.append((path, decode_problem(path)
                               or 'PIL cannot read its header', 'replace or delete it'))
            continue
        width, height, alpha = header
        refused = size_problem(width, height, max_pixels)
        if refused is not None:
            report.bad.append((path, *refused))
            continue
        report.readable.append(index)
        report.with_alpha += alpha
        if (min(width, height) if fit == 'crop' else max(width, height)) < size:
            report.small.append((path, width, height))
    return report
