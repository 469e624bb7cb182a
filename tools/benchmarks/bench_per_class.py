"""Time the per-class part of PerClassFID: ``class_rows`` on random features (no network; its features come
from the Inception pass the global FID makes anyway).

    python tools/benchmarks/bench_per_class.py --classes 10 --fake 100 --real 100
    python tools/benchmarks/bench_per_class.py --classes 20 --fake 50 --real 1300 --kid  # ImageNet-like

Prints the best of ``--repeats`` calls and the time per class; the cost grows linearly with the classes, so
``--classes 20`` times 50 estimates 1,000 classes of the same sizes.
"""
import argparse

import numpy as np
import torch
from timing import repeat

from sagan_plugin.evaluation.offline_fid import KID_DEFAULTS
from sagan_plugin.evaluation.per_class import class_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--classes', type=int, default=10)
    parser.add_argument('--fake', type=int, default=100, help='generated images per class')
    parser.add_argument('--real', type=int, default=100, help='real images per class')
    parser.add_argument('--dim', type=int, default=2048, help='feature size (pool3: 2048)')
    parser.add_argument('--kid', action='store_true', help='also per-class KID (100 subsets)')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    # Inception pool3 features are non-negative (after a ReLU and average pooling): |N(0, 1)| keeps that.
    fake = np.abs(rng.standard_normal((args.classes * args.fake, args.dim), dtype=np.float32))
    real = np.abs(rng.standard_normal((args.classes * args.real, args.dim), dtype=np.float32))
    fake_labels = np.arange(len(fake)) % args.classes
    real_labels = np.arange(len(real)) % args.classes
    kid = dict(KID_DEFAULTS) if args.kid else None
    times = repeat(
        lambda: class_rows(fake, fake_labels, real, real_labels, args.classes, kid=kid, warn_below=0),
        repeats=args.repeats)
    best = min(t.wall for t in times)
    print(f'class_rows: {args.classes} classes x ({args.fake} generated, {args.real} real), D={args.dim}, '
          f'KID {"on" if args.kid else "off"}, {torch.get_num_threads()} threads: best of {args.repeats} '
          f'{best:.3f} s, {best / args.classes * 1000:.1f} ms per class')


if __name__ == '__main__':
    main()
