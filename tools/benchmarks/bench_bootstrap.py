"""What the bootstrap intervals of OfflineFID cost: rounds at N generated and M real features of D dimensions.

    python tools/benchmarks/bench_bootstrap.py [--num 1000] [--real 1000] [--dim 2048] [--rounds 100]

Random features (the cost does not depend on their values). Times, each once: the real side's square root
(once per statistics, shared with the FID itself), ``rounds`` bootstrap rounds of FID through
:class:`FrechetToReal` (an N x N eigendecomposition each when N < D), one round the direct way (D x D), and
``rounds`` rounds of KID with the demo's options (100 subsets of 500) through :class:`KernelToReal`.
"""
import argparse

import numpy as np
from timing import timed

from sagan_plugin.evaluation.offline_fid import frechet_distance, psd_sqrt
from sagan_plugin.evaluation.uncertainty import FrechetToReal, KernelToReal, bootstrap


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--num', type=int, default=1000, help='generated features N')
    parser.add_argument('--real', type=int, default=1000, help='real features M (for KID)')
    parser.add_argument('--dim', type=int, default=2048, help='feature dimension D')
    parser.add_argument('--rounds', type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    real, fake = rng.random((args.real, args.dim)), rng.random((args.num, args.dim)) + 0.01
    mean, cov = real.mean(0), np.cov(real, rowvar=False)
    root, t_root = timed(lambda: psd_sqrt(cov))
    frechet = FrechetToReal(mean, cov, root)
    fid, t_fid = timed(lambda: bootstrap(fake, frechet, rounds=args.rounds))
    idx = rng.integers(0, args.num, args.num)
    _, t_direct = timed(
        lambda: frechet_distance(fake[idx].mean(0), np.cov(fake[idx], rowvar=False), mean, cov, root))
    kid = KernelToReal(real, subsets=100, subset_size=min(500, args.num, args.real))
    kid_interval, t_kid = timed(lambda: bootstrap(fake, kid, rounds=args.rounds))
    print(f'N={args.num} M={args.real} D={args.dim}, {args.rounds} rounds (wall / CPU seconds):')
    print(f'  real square root (once per statistics): {t_root.wall:.1f} / {t_root.cpu:.1f}')
    print(f'  FID bootstrap:  {t_fid.wall:.1f} / {t_fid.cpu:.1f}  (FID {fid["estimate"]:.3f}, '
          f'[{fid["low"]:.3f}, {fid["high"]:.3f}])')
    print(f'  one round the direct way (D x D): {t_direct.wall:.2f} / {t_direct.cpu:.2f}')
    print(f'  KID bootstrap (100 subsets of {kid.kid["subset_size"]}): {t_kid.wall:.1f} / {t_kid.cpu:.1f}  '
          f'(KID {kid_interval["estimate"]:.5f})')


if __name__ == '__main__':
    main()
