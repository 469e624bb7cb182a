"""Print a config as the Runner sees it: every _base_ merged in, then the --cfg-options overrides.

    python tools/analysis_tools/print_config.py configs/sagan_imagenet128.py [--cfg-options k=v ...]
"""
import argparse

from mmengine.config import Config

from sagan_plugin.engine.cfg_options import CfgOptionsAction
from sagan_plugin.engine.launch import merge_cfg_options


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config values, e.g. train_cfg.max_iters=10 optim_wrapper.generator_lr=2e-4')
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, args.cfg_options, args.config)  # as train.py does: data_root moves the datasets
    print(f'Config:\n{cfg.pretty_text}')


if __name__ == '__main__':
    main()
