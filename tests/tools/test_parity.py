"""The parity experiment's configs and log reading, without training (a run of both sides and their scoring
takes minutes even at toy size: `python tools/experiments/parity.py --iters 4 --interval 2 --width 16
--seeds 0 --num-eval 20 --work-dir /tmp/parity --out /tmp/parity/out`)."""
import json
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from sagan_plugin.converters import ConversionError
from tests.conftest import REPO

sys.path.insert(0, osp.join(REPO, 'tools', 'experiments'))
from parity_configs import check_same_function, mmagic_config, ours_config, write_configs  # noqa: E402
from parity_eval import seconds_per_iter, write_eval_config  # noqa: E402


def unscoped(value):
    if isinstance(value, dict):
        return {k: v.split('.')[-1] if k == 'type' else unscoped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [unscoped(v) for v in value]
    return value


def test_the_sides_differ_only_in_the_model_and_compute_the_same_function(tmp_path):
    paths = write_configs(str(tmp_path), 8, 4, 2)
    ours, peer = Config.fromfile(paths['ours']), Config.fromfile(paths['mmagic'])
    assert (ours.default_scope, peer.default_scope) == ('sagan_plugin', 'mmagic')
    assert (peer.model.type, peer.model.discriminator.type) == ('SAGAN', 'ProjDiscriminator')  # mmagic's
    assert peer.train_dataloader.dataset.type == 'sagan_plugin.FashionMNIST'
    assert peer.default_hooks.checkpoint.type == 'sagan_plugin.AtomicCheckpointHook'
    mine, theirs = (
        unscoped({
            k: v
            for k, v in c.to_dict().items() if k not in ('model', 'optim_wrapper', 'default_scope')
        }) for c in (ours, peer))
    assert mine == theirs
    assert ours.train_dataloader.batch_size == 50 and ours.train_cfg.max_iters == 4
    assert ours.default_hooks.checkpoint.interval == 2 and ours.default_hooks.checkpoint.max_keep_ckpts == -1
    # the demo's recipe on both: TTUR 2e-4 / 8e-4, betas (0, 0.9), one D step, EMA decay 0.99 from 100
    adam = {net: peer.optim_wrapper[net].optimizer for net in ('generator', 'discriminator')}
    assert (adam['generator'].lr, adam['discriminator'].lr) == (
        ours.optim_wrapper.generator_lr, ours.optim_wrapper.discriminator_lr) == (2e-4, 8e-4)
    assert tuple(adam['generator'].betas) == tuple(ours.optim_wrapper.betas) == (0.0, 0.9)
    assert ours.model.discriminator_steps == peer.model.discriminator_steps == 1
    assert ours.model.ema_config.momentum == peer.model.ema_config.momentum == 0.01
    assert ours.model.ema_config.start_iter == peer.model.ema_config.start_iter == 100


def test_a_model_of_another_function_is_refused():
    ours = ours_config(8, 4, 2)
    peer = mmagic_config(ours, 8)
    ours.model.discriminator.channels = (8, 8, 8, 16)
    with pytest.raises(ConversionError, match='model.discriminator.channels'):
        check_same_function(ours, peer)


def test_evaluation_config_is_the_demos_metric_at_n_images(tmp_path):
    path = write_configs(str(tmp_path), 8, 4, 2)['ours']
    cfg = Config.fromfile(write_eval_config(path, str(tmp_path / 'eval.py'), 20, 'orig', 'real20.pkl'))
    metric, = cfg.test_evaluator.metrics
    assert (metric.type, metric.fake_nums, metric.real_nums, metric.sample_model) == ('OfflineFID', 20, 20,
                                                                                      'orig')
    assert metric.kid.subset_size == 10 and metric.inception_pkl == 'real20.pkl'
    assert cfg.test_dataloader.dataset.split == 'test' and cfg.randomness.seed == 2022
    with pytest.raises(ValueError, match='at least 4'):
        write_eval_config(path, str(tmp_path / 'eval.py'), 3, 'ema', 'real3.pkl')


def test_seconds_per_iteration_leave_out_the_first_log_interval_and_join_resumed_logs(tmp_path):
    for stamp, steps in (('20260101_000000', [(2, 9.0), (4, 1.0)]), ('20260101_010000', [(6, 2.0)])):
        folder = tmp_path / stamp / 'vis_data'
        folder.mkdir(parents=True)
        folder.joinpath('scalars.json').write_text(''.join(
            json.dumps(dict(step=s, time=t, loss=0.1)) + '\n' for s, t in steps))
    assert seconds_per_iter(str(tmp_path)) == 1.5
    assert seconds_per_iter(str(tmp_path / 'none')) is None


def test_summary_gives_mean_std_and_welch_per_side():
    from parity import summary
    rows = [
        dict(
            side=side,
            seed=seed,
            iteration=500,
            sample_model='ema',
            fid=fid,
            kid=0.1,
            precision=0.2,
            recall=0.0) for side, seed, fid in (('ours', 0, 100.0), ('ours', 1, 110.0), ('mmagic', 0, 120.0),
                                                ('mmagic', 1, 130.0))
    ]
    table = summary(rows).splitlines()
    assert table[0].startswith('| iteration | sample model | fid ours | fid mmagic | p |')
    cells = [c.strip() for c in table[2].strip('|').split('|')]
    assert cells[:4] == ['500', 'ema', '105 ± 7.1', '125 ± 7.1']
    assert 0.05 < float(cells[4]) < 0.2  # Welch's p of (100, 110) against (120, 130)
    one_seed = summary(rows[:3]).splitlines()[2]
    assert '| 120 ± 0 | – |' in one_seed  # one mmagic seed: no test


def test_the_csv_reads_back_as_written_so_the_report_can_be_redrawn(tmp_path):
    from parity import COLUMNS, read_csv, write_csv
    row = dict(
        side='mmagic',
        seed=1,
        width=64,
        iteration=250,
        sample_model='orig',
        num_eval=1000,
        fid=103.5,
        kid=0.06,
        precision=0.2,
        recall=0.09,
        s_per_iter=1.2)
    write_csv([row], str(tmp_path / 'parity.csv'))
    assert read_csv(str(tmp_path / 'parity.csv')) == [{k: row[k] for k in COLUMNS}]
    write_csv([dict(row, s_per_iter=None)], str(tmp_path / 'parity.csv'))  # a run whose log had no times
    assert read_csv(str(tmp_path / 'parity.csv'))[0]['s_per_iter'] is None
    with pytest.raises(SystemExit, match='missing.csv'):
        read_csv(str(tmp_path / 'missing.csv'))
