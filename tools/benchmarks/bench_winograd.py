"""Would Winograd convolution buy the fp32 speed oneDNN's direct convs cannot? A record of a lead tried.

    python tools/benchmarks/bench_winograd.py [--threads 2] [--reps 5]

In fp32 on a CPU both SAGANs run their 3×3 convs near the machine's matrix-product peak (docs/performance.md),
so only fewer multiplications could go faster. Winograd's F(m×m, 3×3) (Lavin & Gray 2016) computes each
m×m output tile from an (m+2)² input tile with (m+2)² instead of 9m² multiplications per channel pair:
2.25× fewer for F(2, 3), 4× for F(4, 3). Here it is written with torch's own ops, as a plugin could ship it:
tiles gathered by strided slicing, the input, weight and output transforms as matrix products with the
Kronecker form of Bᵀ, G and Aᵀ, and one batched matrix product over the (m+2)² tile positions.

For every distinct 3×3 stride-1 conv of configs/sagan_mmagic_{cifar10_32,imagenet128}.py (shapes as the
networks see them in training, batch 64 and 8), in fp32 without autograd: the median of ``--reps`` forwards
of ``F.conv2d`` (oneDNN) and of each Winograd form, the ratio (> 1: Winograd faster) and the largest error
against a float64 conv relative to the largest output. Forward only: backward's data gradient is the same
product with the flipped weight, so the ratios bound what a training step could gain.
"""
import argparse
import time
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# (batch, C_in, C_out, side): the 3×3 stride-1 convs (pooled and transposed convs excluded) of
# configs/sagan_mmagic_cifar10_32.py (batch 64) and configs/sagan_mmagic_imagenet128.py (batch 8)
SHAPES = ((64, 256, 256, 8), (64, 256, 256, 16), (64, 256, 256, 32), (64, 256, 3, 32), (64, 3, 128, 32),
          (64, 128, 128, 16), (64, 128, 128, 8), (8, 1024, 1024, 8), (8, 1024, 512, 16), (8, 512, 512, 16),
          (8, 256, 256, 32), (8, 128, 128, 64), (8, 64, 64, 128), (8, 64, 3, 128), (8, 3, 64, 128),
          (8, 64, 128, 64), (8, 128, 256, 32), (8, 256, 512, 16), (8, 512, 1024, 8), (8, 1024, 1024, 4))

# Bᵀ, G, Aᵀ of F(2, 3) and F(4, 3) (Lavin & Gray 2016, Sec. 4)
# yapf: disable
TRANSFORMS = {
    2: ([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]],
        [[1, 1, 1, 0], [0, 1, -1, -1]]),
    4: ([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
         [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
        [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
         [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]),
}
# yapf: enable
KronTransforms = Tuple[Tensor, Tensor, Tensor]


def kronecker_transforms(m: int) -> KronTransforms:
    """Bᵀ⊗Bᵀ ((m+2)²×(m+2)²), G⊗G ((m+2)²×9) and Aᵀ⊗Aᵀ (m²×(m+2)²) of F(m, 3), in fp32."""
    matrices = (torch.tensor(t, dtype=torch.float64) for t in TRANSFORMS[m])
    return tuple(torch.kron(t, t).float() for t in matrices)


def winograd_conv(x: Tensor, weight: Tensor, m: int, transforms: KronTransforms) -> Tensor:
    """``F.conv2d(x, weight, padding=1)`` by F(m, 3): x B×C×H×W (channels-last), weight K×C×3×3 → B×K×H×W."""
    bb, gg, aa = transforms  # of F(m, 3), from kronecker_transforms(m)
    a, (b, c, h, w), k = m + 2, x.shape, weight.shape[0]
    th, tw = -(-h // m), -(-w // m)  # tiles per column and row; the last ones overhang into zero padding
    xp = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1 + tw * m - w, 1, 1 + th * m - h))  # B×H'×W'×C
    tiles = torch.stack([xp[:, i:i + m * th:m, j:j + m * tw:m] for i in range(a) for j in range(a)])
    v = (bb @ tiles.view(a * a, -1)).view(a * a, b * th * tw, c)  # Bᵀ d B for every tile and channel
    u = (gg @ weight.permute(2, 3, 1, 0).reshape(9, c * k)).view(a * a, c, k)  # G g Gᵀ
    y = aa @ torch.bmm(v, u).view(a * a, -1)  # Aᵀ (U ⊙ V) A, the products summed over C
    y = y.view(m, m, b, th, tw, k).permute(2, 3, 0, 4, 1, 5).reshape(b, th * m, tw * m, k)
    return y[:, :h, :w].permute(0, 3, 1, 2)


def median_ms(step, reps: int) -> float:
    times = []
    for _ in range(reps + 1):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[reps // 2] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--reps', type=int, default=5, help='timed forwards per figure (median)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    kron = {m: kronecker_transforms(m) for m in TRANSFORMS}
    print('| batch | C_in → C_out | side | oneDNN (ms) | F(2,3) (ms) | ratio | error | F(4,3) (ms) | ratio '
          '| error |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    total = dict.fromkeys(('conv', 2, 4, 'best'), 0.0)
    with torch.no_grad():
        for batch, c_in, c_out, side in SHAPES:
            x = torch.randn(batch, c_in, side, side).contiguous(memory_format=torch.channels_last)
            weight = (torch.randn(c_out, c_in, 3, 3) /
                      (3 * c_in**0.5)).contiguous(memory_format=torch.channels_last)
            exact = F.conv2d(x.double(), weight.double(), padding=1)
            times = {'conv': median_ms(lambda: F.conv2d(x, weight, padding=1), args.reps)}
            row = f'| {batch} | {c_in} → {c_out} | {side}² | {times["conv"]:.1f} |'
            for m in TRANSFORMS:
                error = (winograd_conv(x, weight, m, kron[m]) - exact).abs().max() / exact.abs().max()
                times[m] = median_ms(lambda: winograd_conv(x, weight, m, kron[m]), args.reps)
                row += f' {times[m]:.1f} | {times["conv"] / times[m]:.2f}× | {error:.0e} |'
            print(row, flush=True)
            times['best'] = min(times.values())  # each shape by its fastest form, as a per-shape switch would
            total = {key: total[key] + t for key, t in times.items()}
    print(f'summed over the shapes, each once: oneDNN {total["conv"]:.0f} ms; ' +
          ', '.join(f'{name} {total[key]:.0f} ms ({total["conv"] / total[key]:.2f}×)'
                    for key, name in ((2, 'F(2,3)'), (4, 'F(4,3)'), ('best', 'the fastest form per shape'))))


if __name__ == '__main__':
    main()
