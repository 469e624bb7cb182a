"""Random streams across processes: each rank's own z/y stream through --resume (RNGStateHook), and
evaluation's own seeded samples, the same on any number of processes and for any checkpointed RNG state."""
import json
import os.path as osp
import sys

import pytest
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sagan_plugin.evaluation.seeded_sampler import SeededSampler, rank_indices
from sagan_plugin.registry import EVALUATORS, HOOKS
from tests.conftest import REPO, free_port, run_command, run_tool
from tests.reliability.conftest import TINY, tiny_runner

PROBE = 4  # z values recorded per draw
FASHION = '/usr/share/datasets/fashion-mnist'


@HOOKS.register_module()
class ZProbeHook(Hook):
    """Records the first values of every z the model draws in training, per rank and iteration (1-based),
    as JSON lines in work_dir/z_rank<r>.jsonl."""

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        draw, self.drawn = model.noise_fn, []

        def recording(*args, **kwargs):
            noise = draw(*args, **kwargs)
            self.drawn.append(noise.flatten()[:PROBE].tolist())
            return noise

        model.noise_fn = recording

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        with open(osp.join(runner.work_dir, f'z_rank{get_rank()}.jsonl'), 'a') as f:
            f.write(json.dumps(dict(iter=runner.iter + 1, z=self.drawn)) + '\n')
        self.drawn = []


def probed(work_dir, rank: int = 0) -> dict:
    """{iteration: the z values rank drew in it} from ZProbeHook's file."""
    with open(osp.join(work_dir, f'z_rank{rank}.jsonl')) as f:
        return {line['iter']: line['z'] for line in map(json.loads, f)}


def probe_config(tmp_path) -> str:
    """The tiny demo with ZProbeHook (and no other custom hook: the sample grid draws z too)."""
    path = tmp_path / 'tiny_probe.py'
    path.write_text(f'_base_ = [{TINY!r}]\n'
                    "custom_imports = dict(imports=['sagan_plugin', 'tests.reliability.test_rng_streams'], "
                    'allow_failed_imports=False)\n'
                    "custom_hooks = [dict(type='ZProbeHook')]\n")
    return str(path)


def torchrun(script: str, *args) -> str:
    """tools/<script> ARGS (dist_train.sh or dist_test.sh) with 2 gloo processes; their stdout + stderr."""
    env = dict(PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    proc = run_command('bash', f'tools/{script}', *args, env=env)
    return proc.stdout + proc.stderr


def newest_log(work_dir) -> str:
    return max(work_dir.glob('*/*.log')).read_text()


def save_with_rng(source, dest, rng_state: dict, per_rank=None) -> str:
    """``source`` re-saved with other RNG states (torch.save writes fresh CRCs); ``per_rank`` None drops
    rng_state_per_rank, as checkpoints of the hook before per-rank states were."""
    checkpoint = torch.load(source, map_location='cpu', weights_only=True)
    checkpoint['rng_state'] = rng_state
    checkpoint.pop('rng_state_per_rank', None)
    if per_rank is not None:
        checkpoint['rng_state_per_rank'] = per_rank
    torch.save(checkpoint, dest)
    return str(dest)


@pytest.fixture(scope='module')
def two_process_runs(tmp_path_factory):
    """A 2-process tiny run 0 -> 4 and a 2-process --resume of its iter_2.pth to 4, both probed."""
    tmp = tmp_path_factory.mktemp('dist')
    config, straight, resumed = probe_config(tmp), tmp / 'straight', tmp / 'resumed'
    torchrun('dist_train.sh', config, 2, '--work-dir', straight)
    torchrun('dist_train.sh', config, 2, '--work-dir', resumed, '--resume', straight / 'iter_2.pth')
    return straight, resumed


def test_two_process_resume_continues_each_rank_stream(two_process_runs):
    straight, resumed = two_process_runs
    z = {run: [probed(run, rank) for rank in (0, 1)] for run in two_process_runs}
    assert sorted(z[straight][0]) == [1, 2, 3, 4] and sorted(z[resumed][0]) == [3, 4]
    for run in two_process_runs:  # each process draws its own latents, before and after the resume
        for step, drawn in z[run][0].items():
            assert drawn != z[run][1][step], (run, step)
    for rank in (0, 1):  # and after it exactly those of the uninterrupted run
        assert z[resumed][rank] == {step: z[straight][rank][step] for step in (3, 4)}, rank
    ours, theirs = (torch.load(run / 'iter_4.pth', weights_only=True) for run in two_process_runs)
    for key, value in theirs['state_dict'].items():
        torch.testing.assert_close(ours['state_dict'][key], value, rtol=0, atol=0, msg=key)
    states = torch.load(straight / 'iter_2.pth', weights_only=True)['rng_state_per_rank']
    assert len(states) == 2 and not torch.equal(states[0]['torch'], states[1]['torch'])
    assert 'random state of' not in newest_log(resumed)  # same number of processes: no warning


def test_two_process_checkpoint_in_one_process_continues_rank_0(two_process_runs, tmp_path):
    straight, _ = two_process_runs
    runner = tiny_runner(
        tmp_path, resume_from=straight / 'iter_2.pth', custom_hooks=[dict(type='ZProbeHook')])
    runner.train()
    assert probed(tmp_path) == {step: probed(straight, 0)[step] for step in (3, 4)}
    assert ('checkpoint holds the random state of 2 process(es), this run has 1: rank(s) 0..0 continue '
            'their saved streams') in newest_log(tmp_path)


@pytest.mark.parametrize(
    'legacy', [False, True], ids=['one_process_checkpoint', 'checkpoint_without_per_rank'])
def test_more_processes_than_saved_get_distinct_derived_streams(single, tmp_path, legacy):
    """A 1-process checkpoint (or one of the hook before per-rank states) resumed on 2 processes: rank 0
    continues the saved stream, rank 1 gets a derived one, and the log says so."""
    checkpoint = str(single / 'iter_2.pth')
    saved = torch.load(checkpoint, weights_only=True)
    assert len(saved['rng_state_per_rank']) == 1
    if legacy:
        checkpoint = save_with_rng(checkpoint, tmp_path / 'legacy.pth', saved['rng_state'])
    resumed = tmp_path / 'resumed'
    torchrun('dist_train.sh', probe_config(tmp_path), 2, '--work-dir', resumed, '--resume', checkpoint)
    z0, z1 = probed(resumed, 0), probed(resumed, 1)
    assert z0 == {step: probed(single)[step] for step in (3, 4)}  # the saved stream goes on in rank 0
    assert all(z0[step] != z1[step] for step in (3, 4))
    log = newest_log(resumed)
    assert ('checkpoint holds the random state of 1 process(es), this run has 2: rank(s) 0..0 continue their '
            'saved streams, rank(s) 1..1 are seeded from the saved rank-0 state plus their rank') in log
    assert (("checkpoint holds only rank 0's random state (no rng_state_per_rank)" in log) == legacy)


# Evaluation: classifier scores of 5 and of 3 generated images share one sampler (same sample_model), so each
# process draws the indices both need (5 is odd: 2 processes draw 3 + 3, one unused). The score is computed
# from each image's class probabilities, so it changes with any generated image. (OfflineFID runs the same
# GeneratedImageMetric code; its 2048-d eigendecompositions would cost this test most of a minute.)
EVAL_CONFIG = f"""_base_ = [{TINY!r}]
test_dataloader = dict(
    _delete_=True, batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FashionMNIST', data_root={FASHION!r}, split='test',
                 pipeline=[dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'),
                           dict(type='PackInputs')]))
test_evaluator = dict(_delete_=True, type='Evaluator', metrics=[
    dict(type='ClassifierScore', prefix='CS5', fake_nums=5, splits=1, sample_model='ema'),
    dict(type='ClassifierScore', prefix='CS3', fake_nums=3, splits=1, sample_model='ema')])
test_cfg = dict(_delete_=True, type='MultiTestLoop')
"""


@pytest.fixture(scope='module')
def single(tmp_path_factory):
    """A probed 1-process tiny run 0 -> 4, and a config that evaluates it (EVAL_CONFIG)."""
    work_dir = tmp_path_factory.mktemp('single')
    tiny_runner(work_dir, custom_hooks=[dict(type='ZProbeHook')]).train()
    (work_dir / 'tiny_eval.py').write_text(EVAL_CONFIG)
    return work_dir


@pytest.fixture
def trained(single):
    return str(single / 'tiny_eval.py'), str(single / 'iter_4.pth')


def evaluate(monkeypatch, tmp_path, config: str, checkpoint: str, processes: int = 1, *options) -> dict:
    """tools/test.py (in this process) or tools/dist_test.sh; the metrics it wrote."""
    out = tmp_path / f'metrics_{len(list(tmp_path.glob("metrics_*")))}.json'
    args = (config, checkpoint, '--out', out, '--work-dir', tmp_path / 'eval') + options
    if processes == 1:
        run_tool(monkeypatch, 'test.py', *args)
    else:
        torchrun('dist_test.sh', *args[:2], processes, *args[2:])
    return json.loads(out.read_text())


def test_evaluation_scores_the_same_samples_on_one_and_two_processes(trained, tmp_path, monkeypatch):
    config, checkpoint = trained
    one, two = (evaluate(monkeypatch, tmp_path, config, checkpoint, n) for n in (1, 2))
    keys = ('CS5/classifier_score', 'CS3/classifier_score')
    assert set(keys) <= set(one), one
    for key in keys:
        assert two[key] == pytest.approx(one[key], rel=1e-6, abs=1e-9), key


def test_evaluation_does_not_depend_on_the_checkpoints_rng_state(trained, tmp_path, monkeypatch):
    config, checkpoint = trained
    state = torch.load(checkpoint, weights_only=True)['rng_state']
    state = dict(state, torch=torch.Generator().manual_seed(12345).get_state())
    changed = save_with_rng(checkpoint, tmp_path / 'other_rng.pth', state, [state])
    first, second = (evaluate(monkeypatch, tmp_path, config, path) for path in (checkpoint, changed))
    # nor on the global streams the evaluation starts from
    third = evaluate(monkeypatch, tmp_path, config, checkpoint, 1, '--cfg-options', 'randomness.seed=7')
    assert first == second == third


@pytest.mark.parametrize('fake_nums', [[5], [5, 3], [7, 2, 4]])
@pytest.mark.parametrize('world_size', [1, 2, 3, 4])
def test_every_process_count_gathers_the_first_fake_nums_samples(fake_nums, world_size):
    """What mmagic's gather keeps (each rank's first ceil(n / W) samples of the metric, in rank order,
    cut to n) is samples 0 .. n-1 for every metric."""
    per_rank = [-(-n // world_size) for n in fake_nums]
    drawn = [rank_indices(rank, per_rank) for rank in range(world_size)]
    for n, count in zip(fake_nums, per_rank):
        gathered = [
            i for rank in range(world_size) for i in drawn[rank] if rank * count <= i < (rank + 1) * count
        ]
        assert gathered[:n] == list(range(n))


def test_samples_do_not_depend_on_batch_size_or_global_rng():

    def latents(batch_size):
        batches = list(SeededSampler(list(range(7)), batch_size, 3, 16, 10, 'ema'))
        return (torch.cat([b['inputs']['noise'] for b in batches]),
                torch.cat([b['inputs']['sample_kwargs']['label'] for b in batches]))

    z2, y2 = latents(2)
    torch.manual_seed(1)
    z7, y7 = latents(7)
    assert torch.equal(z2, z7) and torch.equal(y2, y7) and len(set(y2.tolist())) > 1
    other = next(iter(SeededSampler(list(range(7)), 7, 4, 16, 10, 'ema')))['inputs']['noise']
    assert not torch.equal(other, z7)  # another seed, other samples


def test_sample_seed_is_checked():
    with pytest.raises(
            ValueError, match=r"OfflineFID: sample_seed must be an integer in \[0, 2\*\*31\), got '1'"):
        EVALUATORS.build(
            dict(type='Evaluator', metrics=[dict(type='OfflineFID', fake_nums=2, sample_seed='1')]))


def test_metrics_sharing_samples_must_share_the_seed():
    metrics = [
        dict(type='ClassifierScore', fake_nums=2),
        dict(type='ClassifierScore', fake_nums=2, sample_seed=1)
    ]
    evaluator = EVALUATORS.build(dict(type='Evaluator', metrics=metrics))
    with pytest.raises(ValueError, match=r'need the same sample_seed, got \[0, 1\]'):
        evaluator.prepare_samplers(torch.nn.Linear(1, 1), None)
