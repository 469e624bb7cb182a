"""Which BatchNorm statistics should a generator sample with? Writes a checkpoint to score beside its source.

    .venv/bin/python tools/experiments/ema_bn_stats.py CONFIG CKPT OUT.pth [--batches 100] [--batch-size 50]
    .venv/bin/python tools/test.py CONFIG CKPT      # as trained (the demo scores the EMA generator)
    .venv/bin/python tools/test.py CONFIG OUT.pth   # standing statistics
    # the raw generator: add --cfg-options test_evaluator.metrics.0.sample_model=orig

OUT.pth is CKPT with the BatchNorm statistics of the generator and of the EMA generator re-estimated from each
one's own samples (BigGAN's standing statistics, ``sagan_plugin.models.standing_stats``); every weight is
unchanged. Scoring both with ``sample_model=ema`` and ``=orig`` separates what the weights do from what the
statistics do (docs/ema_bn_stats.md).
"""
import argparse

import torch

from sagan_plugin.apis.inference import init_model
from sagan_plugin.models.standing_stats import accumulate_standing_stats


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--batches', type=int, default=100, help='forward passes per generator')
    parser.add_argument('--batch-size', type=int, default=50)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    model = init_model(args.config, args.checkpoint)
    generators = dict(generator=model.generator)
    if model.with_ema_gen:
        generators['generator_ema'] = model.generator_ema.module
    for name, generator in generators.items():
        count = accumulate_standing_stats(
            generator, num_batches=args.batches, batch_size=args.batch_size, seed=args.seed)
        print(
            f'{name}: {count} BatchNorm layers re-estimated from {args.batches} x {args.batch_size} samples')
    checkpoint = torch.load(args.checkpoint, map_location='cpu', weights_only=True)
    state = model.state_dict()
    checkpoint['state_dict'] = {key: state[key] for key in checkpoint['state_dict']}
    torch.save(checkpoint, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
