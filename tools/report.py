"""Write an HTML report of a class-conditional checkpoint: one page a person opens.

    python tools/report.py CONFIG CKPT --out DIR [--work-dir RUN_DIR] [--num N] [--truncations 0.5 1 none]

``DIR/index.html`` holds, with every picture embedded (the PNGs are also written beside it):
the config's first FID-type test metric with bootstrap intervals and the per-class table worst first (one
Inception pass: the metric runs as PerClassFID); for each class N generated images beside N real ones of the
config's test set; the attention maps of the worst classes; the truncation curve (with --truncations); FID
and the attention gammas over training from the run's log (with --work-dir, the training's work_dir).
``DIR/evaluation/`` keeps the evaluation's Runner log.
"""
import argparse
import copy
import datetime
import inspect
import os
import os.path as osp
import uuid
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner

from sagan_plugin.apis import (attention_figure, class_names, discriminator_attention, generator_attention,
                               image_grid, init_model, parse_layers, parse_queries, sample_images,
                               to_rgb_uint8, truncated_noise)
from sagan_plugin.engine.cfg_options import CfgOptionsAction
from sagan_plugin.engine.launch import check_checkpoint, load_config
from sagan_plugin.engine.output_paths import check_output_folder
from sagan_plugin.evaluation import OfflineFID
from sagan_plugin.evaluation.sweep import (KeepMetrics, evaluate_settings, parse_truncation, short_keys,
                                           write_sweep)
from sagan_plugin.registry import DATASETS, METRICS
from sagan_plugin.visualization.report_html import Figure, Report, png, worst_first, write_report
from sagan_plugin.visualization.report_plots import find_scalars, training_curves

LEVEL = 0.95  # of the bootstrap intervals


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file with a test_evaluator holding an OfflineFID-type metric')
    parser.add_argument('checkpoint', help='runner checkpoint or converted checkpoint')
    parser.add_argument('--out', required=True, help='new (or empty) folder for index.html and its PNGs')
    parser.add_argument('--work-dir', help='the training run\'s work_dir, for FID and gamma over training')
    parser.add_argument('--num', type=int, default=8, help='generated and real images shown per class')
    parser.add_argument(
        '--truncations',
        nargs='+',
        type=parse_truncation,
        help='truncation values for the curve, "none" for untruncated z')
    parser.add_argument(
        '--attention-classes', type=int, default=3, help='worst classes in the attention figure')
    parser.add_argument('--bootstrap-rounds', type=int, default=100, help='bootstrap rounds of the intervals')
    parser.add_argument('--seed', type=int, default=0, help='seed of the shown samples\' z')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction, help='override config values')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args(argv)
    if args.num < 1 or args.attention_classes < 0 or args.bootstrap_rounds < 2:
        parser.error(f'need --num >= 1, --attention-classes >= 0 and --bootstrap-rounds >= 2, got '
                     f'{args.num}, {args.attention_classes}, {args.bootstrap_rounds}')
    return args


def check_out(path: str) -> None:
    """``--out`` must be a new or empty folder that can be written (checked before the long work)."""
    if osp.isdir(path) and os.listdir(path):
        raise FileExistsError(f'--out {path} exists and is not empty; give a new folder')
    check_output_folder(path, '--out')


def fid_metric(cfg: Config) -> dict:
    """The config's first test metric that is an OfflineFID (or a subclass), as a config dict."""
    evaluator = cfg.get('test_evaluator') or {}
    metrics = evaluator.get('metrics', []) if isinstance(evaluator, dict) else evaluator
    for metric in metrics or []:
        kind = METRICS.get(metric.get('type', ''))
        if isinstance(kind, type) and issubclass(kind, OfflineFID):
            return dict(metric)
    types = [m.get('type') for m in metrics or []]
    raise ValueError(f'{cfg.filename}: test_evaluator has no OfflineFID-type metric (it has {types}); the '
                     'report needs one for its global and per-class metrics')


def check_bootstrap() -> None:
    """The intervals need OfflineFID's ``bootstrap`` option (sagan_plugin/evaluation/offline_fid.py)."""
    if 'bootstrap' not in inspect.signature(OfflineFID.__init__).parameters:
        raise NotImplementedError('the report\'s intervals need OfflineFID\'s bootstrap option '
                                  '(sagan_plugin/evaluation/offline_fid.py), which is missing')


def loaded_runner(cfg: Config, checkpoint: str, metrics: List[dict], name: str) -> Runner:
    """A Runner whose test evaluator is ``metrics``, with the checkpoint loaded (strict: another architecture
    is an error); ``name`` keeps its log apart from the report's other runs."""
    cfg = copy.deepcopy(cfg)
    cfg.test_evaluator = dict(type='Evaluator', metrics=metrics)
    cfg.load_from, cfg.resume = None, False
    cfg.experiment_name = f'report_{name}_{uuid.uuid4().hex[:8]}'  # MMEngine reuses loggers by name
    runner = Runner.from_cfg(cfg)
    runner.load_checkpoint(checkpoint, map_location='cpu', strict=True)
    return runner


def evaluate(cfg: Config, checkpoint: str, metric: dict, rounds: int) -> Tuple[Runner, dict, List[dict]]:
    """Run the FID metric as PerClassFID with bootstrap intervals (one Inception pass for the global and the
    per-class figures); returns the Runner (for the truncation sweep), the global metrics without their
    prefix and the class rows."""
    check_bootstrap()
    bootstrap = dict(rounds=rounds, level=LEVEL, seed=0)
    runner = loaded_runner(cfg, checkpoint, [dict(metric, type='PerClassFID', bootstrap=bootstrap)],
                           'metrics')
    keep = KeepMetrics()
    runner.register_hook(keep, priority='LOWEST')
    runner.test()
    per_class = [m for e in runner.test_loop.evaluators for m in e.metrics if getattr(m, 'rows', None)]
    return runner, short_keys(keep.metrics), list(per_class[0].rows)


def real_by_class(model: torch.nn.Module, dataset_cfg: dict, num_classes: int,
                  num: int) -> Dict[int, torch.Tensor]:
    """The first ``num`` images of each class in ``dataset_cfg`` as uint8 RGB [n, 3, H, W], through the
    model's data preprocessor as the discriminator sees them."""
    dataset = DATASETS.build(dataset_cfg)
    indices: Dict[int, List[int]] = {c: [] for c in range(num_classes)}
    for i in range(len(dataset)):
        chosen = indices.get(int(dataset.get_data_info(i)['gt_label']))
        if chosen is not None and len(chosen) < num:
            chosen.append(i)
        if all(len(v) == num for v in indices.values()):
            break
    empty = [c for c, v in indices.items() if not v]
    if empty:
        raise ValueError(f'classes {empty} have no image in the test dataset ({dataset_cfg.get("type")})')
    out = {}
    for c, chosen in indices.items():
        data = model.data_preprocessor(pseudo_collate([dataset[i] for i in chosen]), True)
        out[c] = to_rgb_uint8(model, data['data_samples'].gt_img)
    return out


def class_samples(model: torch.nn.Module, cfg: Config, num: int, metric: dict,
                  seed: int) -> Dict[int, Tuple[bytes, bytes]]:
    """By class id: PNGs of ``num`` generated images (the metric's generator, truncation and BN mode) and
    ``num`` real ones of the config's test set."""
    samples = sample_images(
        model,
        per_class=num,
        truncation=metric.get('truncation'),
        seed=seed,
        use_ema=False if metric.get('sample_model') == 'orig' else None,
        bn_mode=metric.get('bn_mode', 'running'))
    real = real_by_class(model, cfg.test_dataloader.dataset, model.num_classes, num)
    k = model.num_classes  # the grid has one column per class: class c is every k-th image from c
    return {
        c: (png(image_grid(samples.images[c::k], ncol=num)), png(image_grid(real[c], ncol=num)))
        for c in range(k)
    }


def attention_png(model: torch.nn.Module, classes: Sequence[int], seed: int,
                  truncation: Optional[float]) -> bytes:
    """The paper's attention figure (every layer, 3 automatic queries) for one generated image per class."""
    labels = torch.tensor(list(classes))
    layers = parse_layers(model, None)
    queries = parse_queries('auto', 3, model.generator.output_scale)
    noise = truncated_noise(len(labels), model.noise_size, truncation, torch.Generator().manual_seed(seed))
    fake, maps = generator_attention(model, layers, noise, labels, queries)
    maps += discriminator_attention(model, layers, fake, labels, queries)
    names = class_names(model) or [f'class {c}' for c in range(model.num_classes)]
    return png(attention_figure(maps, panel_size=96, image_titles=[names[c] for c in classes]))


def truncation_part(runner: Runner, truncations: Sequence[Optional[float]],
                    out_dir: str) -> Tuple[List[dict], Figure]:
    """The evaluation's metric again at each truncation value, on the same seeded latents and real
    statistics, without intervals (the bootstrap would cost its rounds at every value): the rows and the
    curve; ``out_dir/truncation.csv`` beside them."""
    results = evaluate_settings(runner, [dict(truncation=t, bootstrap_cfg=None) for t in truncations])
    rows = [dict(truncation=t, **short_keys(metrics)) for t, metrics in zip(truncations, results)]
    _, png_path = write_sweep(rows, out_dir)
    with open(png_path, 'rb') as f:
        curve = f.read()
    return rows, Figure(
        'truncation', 'Truncation curve', curve,
        'FID against the truncation T of z (rightmost: untruncated), as BigGAN\'s quality-diversity curve; '
        'every value scores the same seeded z and classes.')


def facts(args: argparse.Namespace, metric: dict) -> List[Tuple[str, str]]:
    """What the page was made from, shown under its title."""
    when = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    return [
        ('config', args.config), ('checkpoint', args.checkpoint),
        ('generated images', f'{metric["fake_nums"]} (sample_seed {metric.get("sample_seed", 0)}, '
         f'truncation {metric.get("truncation") or "none"}, {metric.get("sample_model", "orig")} generator)'),
        ('real images', f'{metric.get("real_nums", -1)} of the test dataset (-1: all)'),
        ('intervals', f'bootstrap, {args.bootstrap_rounds} rounds over the generated features'),
        ('written', when)
    ]


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    check_out(args.out)
    if args.work_dir:
        find_scalars(args.work_dir)  # a clear error before the long work
    check_checkpoint(args.checkpoint)
    cfg = load_config(
        argparse.Namespace(
            config=args.config,
            cfg_options=args.cfg_options,
            work_dir=osp.join(args.out, 'evaluation'),
            launcher='none'))
    metric = fid_metric(cfg)
    model = init_model(cfg, args.checkpoint, device=args.device)
    if not model.num_classes:
        raise ValueError(
            f'{args.config}: the model is unconditional; the report is for class-conditional ones')
    runner, metrics, rows = evaluate(cfg, args.checkpoint, metric, args.bootstrap_rounds)
    truncation = metric.get('truncation')
    report = Report(f'{osp.basename(args.config)}: {osp.basename(args.checkpoint)}', facts(args, metric),
                    metrics, LEVEL, rows, class_samples(model, cfg, args.num, metric, args.seed))
    worst = [r['class'] for r in worst_first(rows)][:args.attention_classes]
    if worst:
        report.attention = Figure('attention', f'Attention of the {len(worst)} worst classes',
                                  attention_png(model, worst, args.seed, truncation),
                                  'Each image with its query points, then each query\'s attention map.')
    if args.truncations:
        report.truncation_rows, report.truncation = truncation_part(runner, args.truncations, args.out)
    if args.work_dir:
        report.training, report.notes = training_curves(args.work_dir)
    page = write_report(report, args.out)
    print(f'wrote {page}')
    return page


if __name__ == '__main__':
    main()
