"""One evaluation protocol for both sides of the parity experiment (tools/experiments/parity.py).

Every checkpoint is scored by tools/test.py with our model and the demo's metric: OfflineFID with KID and
precision/recall (TF-2015 Inception), N generated images against the first N Fashion-MNIST test images
through the demo's evaluation pipeline (configs/_base_/evaluation/fashion_mnist_fid.py, 3 identical
channels as in training), the evaluation's seed fixed. mmagic's checkpoints are first converted by
tools/convert_checkpoint.py --from mmagic with the run's own mmagic config as --peer-config, into the config
derived from it (equal outputs); ours are scored with the config they trained with.
"""
import glob
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config

from sagan_plugin.converters import load_peer_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EVALUATION = osp.join(REPO, 'configs', '_base_', 'evaluation', 'fashion_mnist_fid.py')
EVAL_SEED = 2022  # the same z and classes for every checkpoint of both sides
METRICS = ('fid', 'kid', 'precision', 'recall')


def checkpoints(folder: str) -> List[Tuple[int, str]]:
    """(iteration, path) of the run's iter_N.pth, in order."""
    found = [(int(m.group(1)), p) for p in glob.glob(osp.join(folder, 'iter_*.pth'))
             for m in [re.search(r'iter_(\d+)\.pth$', p)] if m]
    return sorted(found)


def stats_file(num: int, work_dir: str) -> str:
    """The demo's cached real statistics when N is its 1,000 (made by the same pipeline: the cache checks
    the dataset, pipeline and extractor on reading); otherwise a file of N in the work folder."""
    metric = Config.fromfile(EVALUATION).fashion_metrics[0]
    if num == metric.real_nums:
        return metric.inception_pkl
    return osp.join(work_dir, f'fashion_mnist_test_first{num}_tf2015_inception.pkl')


def write_eval_config(model_config: str, path: str, num: int, sample_model: str, pkl: str) -> str:
    """``model_config`` with the demo's test data and FID metric (no classifier score) at N images."""
    cfg, evaluation = Config.fromfile(model_config), Config.fromfile(EVALUATION)
    fid = evaluation.fashion_metrics[0].to_dict()
    if num < 4:
        raise ValueError(f'--num-eval {num}: precision/recall with k=3 needs at least 4 images')
    fid.update(fake_nums=num, real_nums=num, inception_pkl=pkl, sample_model=sample_model)
    fid['kid'] = dict(fid['kid'], subset_size=min(fid['kid']['subset_size'], num // 2))
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg'):
        cfg[key] = None
    cfg.test_dataloader = evaluation.test_dataloader.to_dict()
    cfg.test_evaluator = dict(type='Evaluator', metrics=[fid])
    cfg.test_cfg = evaluation.test_cfg.to_dict()
    cfg.randomness = dict(seed=EVAL_SEED, diff_rank_seed=False)
    cfg.dump(path)
    return path


def run_logged(cmd: list, log: str, what: str) -> None:
    """``cmd`` from the repository root, its output appended to ``log``; a failure names the log."""
    with open(log, 'a') as out:
        out.write(f'$ {" ".join(cmd)}\n')
        out.flush()
        code = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise RuntimeError(f'{what} failed (exit {code}); see {log}')


def convert(checkpoint: str, peer_config: str, out: str, log: str) -> str:
    """mmagic's runner checkpoint -> ours (OUT.pth, OUT.py). Its meta.cfg names our dataset (the data both
    sides share), which the converter reads as a checkpoint of ours; the weights go without it, and the
    run's mmagic config is given as --peer-config."""
    config = osp.splitext(out)[0] + '.py'
    if osp.exists(out) and osp.exists(config):
        return config
    bare = f'{out}.weights{os.getpid()}.pth'
    torch.save(dict(state_dict=load_peer_checkpoint(checkpoint)['state_dict']), bare)
    try:
        cmd = [
            sys.executable, 'tools/convert_checkpoint.py', '--from', 'mmagic', bare, out, '--peer-config',
            peer_config
        ]
        run_logged(cmd, log, f'converting {checkpoint}')
    finally:
        os.remove(bare)
    return config


def evaluate(model_config: str, checkpoint: str, stem: str, num: int, sample_model: str, pkl: str) -> dict:
    """The metrics of one checkpoint (cached in ``stem``.json); tools/test.py's output in ``stem``.log."""
    result = f'{stem}.json'
    if not osp.exists(result):
        config = write_eval_config(model_config, f'{stem}.py', num, sample_model, pkl)
        cmd = [
            sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', stem, '--out', f'{result}.tmp'
        ]
        run_logged(cmd, f'{stem}.log', f'evaluating {checkpoint}')
        os.replace(f'{result}.tmp', result)
    with open(result) as f:
        metrics = json.load(f)
    return {m: metrics[f'FID/{m}'] for m in METRICS}


def seconds_per_iter(folder: str) -> Optional[float]:
    """Mean of the training log's ``time`` (seconds per iteration over each log interval), leaving out the
    first interval (start-up) when there are more; every log of a resumed run counts."""
    times = {}
    for path in sorted(glob.glob(osp.join(folder, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                if 'time' in entry:
                    times[entry['step']] = entry['time']
    values = [times[step] for step in sorted(times)]
    return statistics.mean(values[1:] if len(values) > 1 else values) if values else None


def evaluate_run(side: str,
                 folder: str,
                 config: str,
                 num: int,
                 sample_models: List[str],
                 only: Optional[int] = None) -> List[dict]:
    """A row per checkpoint (or only iter_``only``) and sample model of one run (iteration, sample_model,
    metrics)."""
    rows, eval_dir = [], osp.join(folder, 'eval')
    os.makedirs(eval_dir, exist_ok=True)
    pkl = stats_file(num, osp.dirname(folder))
    for iteration, path in checkpoints(folder):
        if only is not None and iteration != only:
            continue
        model_config = config
        if side == 'mmagic':
            converted = osp.join(folder, 'converted', f'iter_{iteration}.pth')
            os.makedirs(osp.dirname(converted), exist_ok=True)
            model_config, path = convert(path, config, converted, osp.join(eval_dir,
                                                                           'convert.log')), converted
        for sample_model in sample_models:
            stem = osp.join(eval_dir, f'iter_{iteration}_{sample_model}_n{num}')
            metrics = evaluate(model_config, path, stem, num, sample_model, pkl)
            rows.append(dict(iteration=iteration, sample_model=sample_model, **metrics))
    return rows
