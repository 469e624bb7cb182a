"""The attention-ablation driver, on one arm at toy sizes: trains through tools/train.py, evaluates, reports,
and a second invocation repeats nothing."""
import csv
import json
import os.path as osp
import sys

from tests.conftest import REPO, run_python

TOY = [
    'train_cfg.max_iters=4', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
    'default_hooks.logger.interval=1', 'train_dataloader.batch_size=10',
    'train_dataloader.dataset.num_samples=100', 'model.generator.channels=(32,16,16,8)',
    'model.discriminator.base_channels=4'
]


def toy_evaluation(pkl: str) -> list:
    return [
        f'{evaluator}.metrics.0.{key}' for evaluator in ('val_evaluator', 'test_evaluator')
        for key in ('fake_nums=20', 'real_nums=20', f'inception_pkl={pkl}', 'kid.subset_size=10',
                    'kid.subsets=2')
    ]


def test_one_arm_runs_reports_and_resumes(tmp_path):
    cmd = [
        'tools/experiments/attention_ablation.py', '--arms', 'attention_16', '--seeds', '0', '--jobs', '1',
        '--work-dir',
        str(tmp_path / 'runs'), '--out',
        str(tmp_path / 'out'), '--cfg-options', *TOY, *toy_evaluation(str(tmp_path / 'real20.pkl'))
    ]
    run_python(*cmd, timeout=900)
    result = json.loads((tmp_path / 'runs' / 'attention_16' / 'seed0' / 'result.json').read_text())
    assert result['iter'] == 4 and result['fid'] > 0
    rows = list(csv.DictReader(open(tmp_path / 'out' / 'ablation.csv')))
    assert [int(r['iter']) for r in rows] == [2, 4]  # every evaluation of the run
    gammas = list(csv.DictReader(open(tmp_path / 'out' / 'gamma.csv')))
    assert {r['layer'] for r in gammas} == {'generator.16', 'discriminator.16'}
    assert sorted({int(r['iter']) for r in gammas}) == [1, 2, 3, 4]  # every log line
    row, = [
        line for line in (tmp_path / 'out' / 'summary.md').read_text().splitlines() if 'attention_16' in line
    ]
    assert row.startswith('| attention_16 | 1 |') and '±' not in row  # one run: its values, no spread
    assert (tmp_path / 'out' / 'fid.png').stat().st_size > 0 and (tmp_path / 'out' /
                                                                  'gamma.png').stat().st_size
    log = tmp_path / 'runs' / 'attention_16_seed0.out'
    size = log.stat().st_size
    second = run_python(*cmd, timeout=900)
    assert f'[ablation] attention_16 seed 0: finished in {tmp_path / "runs"}' in second.stdout
    assert 'tools/train.py' not in second.stdout
    assert log.stat().st_size == size  # the finished run was not started again
    # A report from elsewhere (no run folders, e.g. a fresh clone) keeps the recorded results and redraws the
    # figures from them.
    (tmp_path / 'out' / 'gamma.png').unlink()
    elsewhere = [str(tmp_path / 'none') if arg == str(tmp_path / 'runs') else arg for arg in cmd]
    run_python(*elsewhere, '--report-only', timeout=300)
    assert list(csv.DictReader(open(tmp_path / 'out' / 'ablation.csv'))) == rows
    assert list(csv.DictReader(open(tmp_path / 'out' / 'gamma.csv'))) == gammas
    assert (tmp_path / 'out' / 'gamma.png').stat().st_size > 0
    # ... and the full command there repeats no recorded finished run.
    fourth = run_python(*elsewhere)
    assert 'attention_16 seed 0: finished in' in fourth.stdout and not (tmp_path / 'none').exists()


def test_summary_takes_each_finished_runs_best_and_last_evaluation():
    sys.path.insert(0, osp.join(REPO, 'tools', 'experiments'))
    from ablation_report import by_arm
    rows = [
        dict(arm='none', seed=0, iter=2, fid=10.0, kid=0.3, finished=True),
        dict(arm='none', seed=0, iter=4, fid=12.0, kid=0.2, finished=True),
        dict(arm='none', seed=1, iter=2, fid=5.0, kid=0.1, finished=False),  # still training: left out
    ]
    assert by_arm(rows) == {'none': [dict(best_fid=10.0, best_kid=0.2, fid=12.0, kid=0.2)]}


def test_comparisons_give_the_difference_of_means_and_welchs_p():
    sys.path.insert(0, osp.join(REPO, 'tools', 'experiments'))
    from ablation_report import comparison_table

    def run(fid: float) -> dict:
        return dict(best_fid=fid, best_kid=fid / 1000, fid=fid, kid=fid / 1000)

    runs = {
        'no_attention': [run(4.0), run(6.0), run(8.0)],
        'attention_8': [run(1.0), run(2.0), run(3.0)],
        'attention_16': [run(1.0)],  # one run: no spread, no test
        'residual_32': [run(1.0), run(2.0)],  # its attention arm has not run
    }
    # a blank line, the heading, a blank line, the table's two header lines, its rows
    lines = comparison_table(runs)
    assert '4 tests' in lines[1]
    # t = -4 / sqrt(1/3 + 4/3) = -3.10, Welch's 2.94 degrees of freedom: p = 0.055 (pooled variances: 0.036)
    row = '| attention_8 − no_attention | 3 / 3 | ' + ' | '.join(['-4.00 (p 0.05)'] * 4) + ' |'
    assert lines[5:] == [row]
    del runs['attention_8']
    assert comparison_table(runs) == []
