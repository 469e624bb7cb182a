"""The floor of a config's FID: real training images scored in place of generated ones, same protocol.

    python tools/experiments/real_floor.py configs/sagan_demo_fashion32.py [--num 1000] [--seed 0]

FID is biased upwards at small N, so a figure such as "FID 150 at 1,000 samples" needs the value that real
images get at the same N beside it. This takes the config's first ``test_evaluator`` metric (its real
statistics, network, KID and precision/recall settings, reused from its ``inception_pkl``), draws ``--num``
random images of the *training* set with ``--seed`` (the generator learns from these; the real statistics
come from the evaluation split), and prints the metric's values for them. The images and their scoring are
those of the metric's ``floor`` option (sagan_plugin/evaluation/floor.py), which puts the same figures beside
every evaluation.
"""
import argparse

from mmengine.config import Config
from mmengine.registry import init_default_scope

from sagan_plugin.evaluation.floor import floor_features
from sagan_plugin.registry import DATASETS, METRICS, MODELS


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--num', type=int, default=1000, help='real training images scored (N)')
    parser.add_argument('--seed', type=int, default=0, help='which random training images')
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'sagan_plugin'))
    metric = METRICS.build(cfg.test_evaluator.metrics[0])
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    eval_set = DATASETS.build(cfg.test_dataloader.dataset)
    train_cfg = dict(cfg.train_dataloader.dataset, pipeline=cfg.test_dataloader.dataset.pipeline)
    train_set = DATASETS.build(train_cfg)  # the evaluation's resize, not training-time augmentation
    stats = metric.real_stats(eval_set, preprocessor, cfg.test_dataloader.batch_size)
    metric.set_real_stats(stats)
    feats = floor_features(train_set, args.num, args.seed, None, metric.inception.identity(), preprocessor,
                           cfg.test_dataloader.batch_size, metric.real_key or 'gt_img',
                           metric.forward_inception, 'real training images')
    values = metric.score(feats)
    print(f'{args.num} real training images (seed {args.seed}) against {metric.inception_pkl}: ' +
          ', '.join(f'{metric.prefix}/{k}: {v:.4f}' for k, v in values.items()))


if __name__ == '__main__':
    main()
