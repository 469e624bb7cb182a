"""Faults during training: NaN weights, a save killed half-way. The last good checkpoint always survives."""
import resource
import shutil

import pytest
import torch
from mmengine.hooks import Hook

from sagan_plugin.engine.checkpoint_files import verify_checkpoint
from tests.conftest import run_python, run_tool
from tests.reliability.conftest import TINY, tiny_runner

NO_GRID = {'custom_hooks.0.interval': 1000}  # the grid of a NaN generator is not what these tests look at


class PutNaN(Hook):
    """The fault of the issue: one NaN in a weight, appearing before iteration ``at`` (1-based)."""

    def __init__(self, at: int, network: str):
        self.at, self.network = at, network

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            weight = next(p for name, p in getattr(runner.model, self.network).named_parameters()
                          if name.endswith('weight_orig') or name.endswith('weight'))
            with torch.no_grad():
                weight.view(-1)[0] = float('nan')


def train_with_fault(work_dir, hook, **overrides):
    runner = tiny_runner(work_dir, **NO_GRID, **{'default_hooks.checkpoint.max_keep_ckpts': 1}, **overrides)
    runner.register_hook(hook)
    runner.train()


def test_nan_in_generator_stops_at_that_iteration_naming_the_loss_term(tmp_path):
    with pytest.raises(
            FloatingPointError,
            match=r'iteration 3: loss term loss\w* = nan.*last good checkpoint is '
            f'{tmp_path}/iter_2.pth'):
        train_with_fault(tmp_path, PutNaN(at=3, network='generator'))
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_2.pth'
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_2.pth']
    verify_checkpoint(str(tmp_path / 'iter_2.pth'))


def test_nan_weights_with_finite_loss_are_never_saved_nor_rotated_over(tmp_path):
    """NaN in the EMA generator (no loss sees it): the iteration-4 save is refused; with max_keep_ckpts=1,
    MMEngine's order (delete the oldest, then write) would have left only a NaN checkpoint."""
    with pytest.raises(
            FloatingPointError, match=r'iteration 4: state_dict\.generator_ema\.\S+ holds 1 non-finite'):
        train_with_fault(tmp_path, PutNaN(at=3, network='generator_ema'))
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_2.pth'
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_2.pth']
    state = torch.load(tmp_path / 'iter_2.pth', weights_only=True)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_a_checkpoint_with_nan_weights_is_refused_on_load(tmp_path, monkeypatch):
    tiny_runner(tmp_path / 'run', **NO_GRID).train()
    checkpoint = torch.load(tmp_path / 'run' / 'iter_4.pth', weights_only=True)
    key = next(k for k in checkpoint['state_dict'] if k.startswith('generator.'))
    checkpoint['state_dict'][key].view(-1)[0] = float('nan')
    torch.save(checkpoint, tmp_path / 'nan.pth')
    with pytest.raises(ValueError, match=f'holds non-finite values in 1 tensors: {key} \\(1 NaN'):
        tiny_runner(tmp_path / 'resumed', resume_from=tmp_path / 'nan.pth').train()
    with pytest.raises(ValueError, match='non-finite values'):
        run_tool(monkeypatch, 'test.py', TINY, tmp_path / 'nan.pth', '--work-dir', tmp_path)


def test_divergence_exits_non_zero_without_writing_a_checkpoint(tmp_path):
    huge_lr = ['optim_wrapper.generator_lr=1e30', 'optim_wrapper.discriminator_lr=1e30']
    proc = run_python('tools/train.py', TINY, '--work-dir', tmp_path, '--cfg-options', *huge_lr, check=False)
    assert proc.returncode != 0
    assert 'FloatingPointError: iteration 1: loss term' in proc.stderr and 'start again' in proc.stderr
    assert not list(tmp_path.glob('*.pth'))


def test_a_save_failing_half_way_leaves_the_last_good_checkpoint_to_resume_from(tmp_path):
    """Writing iter_6.pth fails half-way with an I/O error (EFBIG: a file size limit; a full disk gives ENOSPC
    at the same place), with max_keep_ckpts=1."""
    tiny_runner(tmp_path, **NO_GRID).train()
    limit = (tmp_path / 'iter_4.pth').stat().st_size // 2

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    resume = [
        '--resume', '--cfg-options', 'train_cfg.max_iters=6', 'default_hooks.checkpoint.max_keep_ckpts=1',
        'custom_hooks.0.interval=1000'
    ]
    proc = run_python(
        'tools/train.py', TINY, '--work-dir', tmp_path, *resume, check=False, preexec_fn=limit_file_size)
    assert proc.returncode != 0 and 'OSError: [Errno 27] File too large' in proc.stderr, proc.stderr[-2000:]
    assert f'saving checkpoint {tmp_path}/iter_6.pth failed' in proc.stderr
    assert not (tmp_path / '.iter_6.pth.partial').exists() and not (tmp_path / 'iter_6.pth').exists()
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_4.pth'
    verify_checkpoint(str(tmp_path / 'iter_4.pth'))
    runner = tiny_runner(tmp_path, resume=True, **NO_GRID, **{'train_cfg.max_iters': 6})
    runner.train()
    assert runner.iter == 6 and (tmp_path / 'last_checkpoint').read_text() == 'iter_6.pth'
    assert not (tmp_path / '.iter_6.pth.partial').exists()
    shutil.rmtree(tmp_path)
