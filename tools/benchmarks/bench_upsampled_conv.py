"""Forward+backward time of G's ``upsample ×2 → conv3×3`` against the one transposed conv that replaces it.

    python tools/benchmarks/bench_upsampled_conv.py [--threads 2] [--repeats 4]

For each up-block shape of the 128² (batch 8) and 32² (batch 64) tables, in fp32 and bf16 autocast: the best
of ``--repeats`` steps (after one warm-up) of the conv on the upsampled map (``upsampled_conv=False``) and of
:class:`~sagan_plugin.models.resampling_convs.UpsampledConv2d`'s transposed conv, kernel derivation included,
and their ratio (> 1: the transposed conv is faster). ``UPSAMPLED_CONV_MIN_INPUT`` in
``models/generator.py`` is chosen from this table.
"""
import argparse

import torch
import torch.nn.functional as F
from timing import repeat

from sagan_plugin.models.resampling_convs import UpsampledConv2d

# (batch, in channels, out channels, input side): the up-blocks of configs/sagan_mmagic_imagenet128.py and
# configs/sagan_mmagic_cifar10_32.py
SHAPES = ((8, 1024, 1024, 4), (8, 1024, 512, 8), (8, 512, 256, 16), (8, 256, 128, 32), (8, 128, 64, 64),
          (64, 256, 256, 4), (64, 256, 256, 8), (64, 256, 256, 16))


def best_time(step, repeats: int, bf16: bool) -> float:

    def run() -> None:
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            out = step()
        out.float().sum().backward()

    return min(t.wall for t in repeat(run, repeats, warmup=1))


def upsample_then_conv(conv: UpsampledConv2d, x: torch.Tensor) -> torch.Tensor:
    """What the transposed conv replaces, with the same parameters."""
    return F.conv2d(F.interpolate(x, scale_factor=2), conv.weight, conv.bias, padding=1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--repeats', type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print('| precision | batch | C_in → C_out | input | upsample+conv (s) | transposed conv (s) | ratio |')
    print('|---|---|---|---|---|---|---|')
    for bf16 in (False, True):
        for batch, c_in, c_out, side in SHAPES:
            fused = UpsampledConv2d(c_in, c_out, 3, padding=1)
            x = torch.randn(batch, c_in, side, side, requires_grad=True)
            t_plain = best_time(lambda: upsample_then_conv(fused, x), args.repeats, bf16)
            t_fused = best_time(lambda: fused(x), args.repeats, bf16)
            print(f'| {"bf16" if bf16 else "fp32"} | {batch} | {c_in} → {c_out} | {side}² | {t_plain:.4f} | '
                  f'{t_fused:.4f} | {t_plain / t_fused:.2f}× |')


if __name__ == '__main__':
    main()
