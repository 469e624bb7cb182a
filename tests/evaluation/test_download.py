"""A missing IS Inception is fetched from torch-fidelity's URL — here a server on 127.0.0.1 — and checked.

The published entry's URL and checksum are pointed at the local server, which serves a real-shaped
torch-fidelity state dict (default_1.pt's pool3 weights, a random classifier) or a few bytes where the test
only needs a transfer: the code path is the one users run.
"""
import hashlib
import io
import os.path as osp
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

from sagan_plugin.evaluation import OfflineIS, torch_fidelity_state_dict
from sagan_plugin.evaluation.weights import TORCH_FIDELITY_INCEPTION, is_inception_path

SMALL = b'not an inception, only a transfer' * 100


class Handler(BaseHTTPRequestHandler):
    """/file: the payload; /cut: its headers promise the whole payload, half comes, the connection closes."""
    requests = []
    payload = SMALL

    def do_GET(self):
        Handler.requests.append(self.path)
        if self.path not in ('/file', '/cut'):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload if self.path == '/file' else self.payload[:len(self.payload) // 2])
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def server():
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def publish(monkeypatch, server, tmp_path):
    """Serve ``payload`` at a route of the local server as torch-fidelity's file, with the checksum it is to
    have (default: the payload's); torch.hub's folder (torch-fidelity's download location) in tmp_path."""
    Handler.requests.clear()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))

    def apply(route: str, payload: bytes = SMALL, sha256: str = None) -> None:
        monkeypatch.setattr(Handler, 'payload', payload)
        monkeypatch.setitem(TORCH_FIDELITY_INCEPTION, 'url', server + route)
        monkeypatch.setitem(TORCH_FIDELITY_INCEPTION, 'sha256', sha256 or hashlib.sha256(payload).hexdigest())

    return apply


@pytest.fixture(scope='module')
def inception_file() -> bytes:
    """torch-fidelity's file format: default_1.pt's weights under its names, a random 1008-way classifier."""
    gen = torch.Generator().manual_seed(0)
    state = dict(torch_fidelity_state_dict(), **{'fc.weight': torch.randn(1008, 2048, generator=gen) * 0.01})
    buffer = io.BytesIO()
    torch.save(dict(state, **{'fc.bias': torch.randn(1008, generator=gen)}), buffer)
    return buffer.getvalue()


def test_missing_file_is_downloaded_checked_and_used(publish, tmp_path, inception_file):
    publish('/file', inception_file)
    path = tmp_path / 'cache' / 'weights-inception-2015-12-05-6726825d.pth'
    metric = OfflineIS(fake_nums=4, splits=2, inception_path=str(path))
    assert path.read_bytes() == inception_file and list(path.parent.iterdir()) == [path]  # no temp file left
    images = torch.arange(4).view(4, 1, 1, 1).expand(4, 3, 8, 8).float() * 60  # four different colours
    metric.process({}, [dict(fake_img=img) for img in images])
    assert metric.evaluate()['is'] > 1  # the downloaded network really ran
    assert is_inception_path(str(path)) == str(path)
    assert Handler.requests == ['/file']  # the second look found the file: one download


def test_default_location_is_torch_fidelitys_own(publish):
    """None: the file goes where torch-fidelity's load_state_dict_from_url puts it, so either reuses it."""
    publish('/file')
    expected = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(URL_INCEPTION_V3))
    assert is_inception_path(None) == expected and open(expected, 'rb').read() == SMALL
    assert is_inception_path(None) == expected and Handler.requests == ['/file']


@pytest.mark.parametrize(
    'route, sha256', [('/file', '0' * 64), ('/cut', None)], ids=['wrong-checksum', 'cut-off'])
def test_bad_transfer_leaves_nothing_that_looks_complete(publish, tmp_path, route, sha256):
    publish(route, sha256=sha256)
    path = tmp_path / 'weights.pth'
    with pytest.raises(ValueError, match=f'(?s)failed its checksum.*nothing was kept at {path}'):
        OfflineIS(fake_nums=4, inception_path=str(path))
    assert list(tmp_path.iterdir()) == []


def test_unreachable_url_gives_the_clear_error(publish, tmp_path):
    publish('/missing')
    path = str(tmp_path / 'weights.pth')
    with pytest.raises(
            FileNotFoundError, match='(?s)downloading .*/missing failed.*HTTP Error 404.*put it at'):
        OfflineIS(fake_nums=4, inception_path=path)
    assert list(tmp_path.iterdir()) == []


def test_download_false_asks_for_the_file_without_connecting(publish, tmp_path):
    publish('/file')
    with pytest.raises(FileNotFoundError, match='not found'):
        OfflineIS(fake_nums=4, inception_path=str(tmp_path / 'weights.pth'), download=False)
    assert Handler.requests == []
