"""A missing full Inception is fetched from its published URL — here a server on 127.0.0.1 — and checked.

The published entries' URL and checksum are pointed at the local server, which serves a small TorchScript
with NVIDIA's call signature instead of the 95 MB network: the code path is the one users run.
"""
import hashlib
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from torch import Tensor, nn

from sagan_plugin.evaluation import OfflineIS
from sagan_plugin.evaluation.weights import NVIDIA_INCEPTION, TORCH_FIDELITY_INCEPTION, full_inception_path


class MeanColourClassifier(nn.Module):
    """NVIDIA's signature; 'classes' from the mean colour, so the score depends on the images."""

    def forward(self,
                img: Tensor,
                return_features: bool = False,
                use_fp16: bool = False,
                no_output_bias: bool = False) -> Tensor:
        x = img.float().mean(dim=(2, 3)) / 32
        return torch.cat([x, 8 - x], dim=1).softmax(dim=1)


def torchscript_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(MeanColourClassifier()), buffer)
    return buffer.getvalue()


PAYLOAD = torchscript_bytes()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """/file: the payload; /cut: its headers promise the whole payload, half comes, the connection closes."""
    requests = []

    def do_GET(self):
        Handler.requests.append(self.path)
        if self.path not in ('/file', '/cut'):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD if self.path == '/file' else PAYLOAD[:len(PAYLOAD) // 2])
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
def publish(monkeypatch, server):
    """Point a published entry at a route of the local server, with the checksum it is to have."""
    Handler.requests.clear()

    def apply(entry: dict, route: str, sha256: str = SHA256) -> None:
        monkeypatch.setitem(entry, 'url', server + route)
        monkeypatch.setitem(entry, 'sha256', sha256)

    return apply


def test_missing_file_is_downloaded_checked_and_used(publish, tmp_path):
    publish(NVIDIA_INCEPTION, '/file')
    path = tmp_path / 'cache' / 'inception-2015-12-05.pt'
    metric = OfflineIS(fake_nums=4, splits=2, inception_path=str(path))
    assert path.read_bytes() == PAYLOAD and list(path.parent.iterdir()) == [path]  # no temp file left
    images = torch.arange(4).view(4, 1, 1, 1).expand(4, 3, 8, 8).float() * 60  # four different colours
    metric.process({}, [dict(fake_img=img) for img in images])
    assert metric.evaluate()['is'] > 1  # the downloaded network really ran
    OfflineIS(fake_nums=4, inception_path=str(path))
    assert Handler.requests == ['/file']  # the second metric found the file: one download


@pytest.mark.parametrize(
    'entry', [NVIDIA_INCEPTION, TORCH_FIDELITY_INCEPTION], ids=['nvidia', 'torch-fidelity'])
def test_file_name_picks_the_published_file(publish, tmp_path, entry):
    publish(entry, '/file')
    path = str(tmp_path / entry['filename'])
    assert full_inception_path(path) == path
    assert Handler.requests == ['/file']


@pytest.mark.parametrize(
    'route, sha256', [('/file', '0' * 64), ('/cut', SHA256)], ids=['wrong-checksum', 'cut-off'])
def test_bad_transfer_leaves_nothing_that_looks_complete(publish, tmp_path, route, sha256):
    publish(NVIDIA_INCEPTION, route, sha256)
    path = tmp_path / 'inception-2015-12-05.pt'
    with pytest.raises(ValueError, match=f'(?s)failed its checksum.*nothing was kept at {path}'):
        OfflineIS(fake_nums=4, inception_path=str(path))
    assert list(tmp_path.iterdir()) == []


def test_unreachable_url_gives_the_clear_error(publish, tmp_path):
    publish(NVIDIA_INCEPTION, '/missing')
    path = str(tmp_path / 'inception-2015-12-05.pt')
    with pytest.raises(
            FileNotFoundError, match='(?s)downloading .*/missing failed.*HTTP Error 404.*put it at'):
        OfflineIS(fake_nums=4, inception_path=path)
    assert list(tmp_path.iterdir()) == []


def test_download_false_asks_for_the_file_without_connecting(publish, tmp_path):
    publish(NVIDIA_INCEPTION, '/file')
    with pytest.raises(FileNotFoundError, match='not found'):
        OfflineIS(fake_nums=4, inception_path=str(tmp_path / 'inception-2015-12-05.pt'), download=False)
    assert Handler.requests == []
