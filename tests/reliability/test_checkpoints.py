"""Checkpoints that cannot be lost, damaged, mixed or moved out from under --resume (AtomicCheckpointHook)."""
import os.path as osp
import shutil
import zipfile

import pytest
import torch
from mmengine.config import Config

from sagan_plugin.engine.checkpoint_files import verify_checkpoint
from tests.conftest import REPO, run_tool
from tests.reliability.conftest import TINY, tiny_runner


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A finished tiny run: iter_2.pth, iter_4.pth, last_checkpoint."""
    work_dir = tmp_path_factory.mktemp('trained')
    tiny_runner(work_dir).train()
    return work_dir


@pytest.fixture
def work_dir(trained, tmp_path):
    """A copy of the finished run that a test may damage."""
    return shutil.copytree(trained, tmp_path / 'run')


def damage(path):
    """Flip 16 bytes in the middle of the largest entry (a weight tensor): same size, valid zip directory."""
    with zipfile.ZipFile(path) as archive:
        entry = max((i for i in archive.infolist() if '/data/' in i.filename), key=lambda i: i.file_size)
    offset = entry.header_offset + 30 + len(entry.filename) + len(entry.extra) + entry.file_size // 2
    with open(path, 'r+b') as f:
        f.seek(offset)
        data = f.read(16)
        f.seek(offset)
        f.write(bytes(b ^ 0xFF for b in data))


def log_of(runner):
    messages = []
    handler = __import__('logging').Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    runner.logger.addHandler(handler)
    return messages


def test_last_checkpoint_is_relative_and_a_moved_work_dir_resumes_its_own_files(trained, tmp_path):
    assert (trained / 'last_checkpoint').read_text() == 'iter_4.pth'
    moved = shutil.copytree(trained, tmp_path / 'old')
    moved = shutil.move(str(moved), str(tmp_path / 'new'))  # the old folder is gone
    (tmp_path / 'new' / '.iter_6.pth.partial').write_bytes(b'a save cut short')
    runner = tiny_runner(moved, resume=True, **{'train_cfg.max_iters': 6})
    messages = log_of(runner)
    runner.train()
    assert runner.iter == 6 and any(f'Load checkpoint from {tmp_path}/new/iter_4.pth' in m for m in messages)
    assert not (tmp_path / 'new' / '.iter_6.pth.partial').exists()  # removed, with a warning
    assert any('.iter_6.pth.partial' in m and 'incomplete' in m for m in messages)
    verify_checkpoint(str(tmp_path / 'new' / 'iter_6.pth'))


def test_checkpoint_damaged_inside_fails_its_crc_check(work_dir):
    path = str(work_dir / 'iter_4.pth')
    damage(path)
    torch.load(path, map_location='cpu', weights_only=True)  # what torch alone would accept
    with pytest.raises(
            ValueError, match=f'checkpoint {path} is damaged: its entry .* fails the CRC-32 check'):
        verify_checkpoint(path)


def test_test_tool_refuses_a_damaged_checkpoint(work_dir, monkeypatch):
    damage(str(work_dir / 'iter_4.pth'))
    with pytest.raises(ValueError, match='iter_4.pth is damaged'):
        run_tool(monkeypatch, 'test.py', TINY, work_dir / 'iter_4.pth')


def test_resume_passes_over_a_damaged_latest_checkpoint_with_a_warning(work_dir):
    damage(str(work_dir / 'iter_4.pth'))
    runner = tiny_runner(work_dir, resume=True, **{'train_cfg.max_iters': 6})
    messages = log_of(runner)
    runner.train()
    warning = next(m for m in messages if 'previous good checkpoint' in m)
    assert 'iter_4.pth is damaged' in warning and f'{work_dir}/iter_2.pth instead' in warning
    assert runner.iter == 6
    assert torch.load(work_dir / 'iter_6.pth', weights_only=True)['meta']['iter'] == 6


def test_resume_with_every_checkpoint_damaged_names_each(work_dir):
    for name in ('iter_2.pth', 'iter_4.pth'):
        damage(str(work_dir / name))
    with pytest.raises(
            ValueError, match=r'no usable checkpoint .*iter_4.pth is damaged.*iter_2.pth is damaged'):
        tiny_runner(work_dir, resume=True).train()


def test_last_checkpoint_naming_a_missing_file_falls_back(work_dir):
    (work_dir / 'iter_4.pth').unlink()
    runner = tiny_runner(work_dir, resume=True, **{'train_cfg.max_iters': 6})
    messages = log_of(runner)
    runner.train()
    assert any('iter_4.pth does not exist' in m and 'iter_2.pth instead' in m for m in messages)


def test_resume_from_a_weights_only_checkpoint_points_to_load_from(trained, tmp_path):
    weights = tmp_path / 'weights.pth'
    torch.save(dict(state_dict=torch.load(trained / 'iter_4.pth', weights_only=True)['state_dict']), weights)
    with pytest.raises(
            ValueError,
            match=f"--resume {weights}: .*no \\['meta', 'optimizer'\\].*weights-only.*"
            f'load_from={weights}'):
        tiny_runner(tmp_path / 'new', resume_from=weights).train()


def test_resume_with_another_architecture_lists_the_mismatched_keys(trained, tmp_path):
    with pytest.raises(
            ValueError, match=r'does not fit this model .*\n  generator\..*: checkpoint \(8,') as err:
        tiny_runner(
            tmp_path / 'new',
            resume_from=trained / 'iter_4.pth',
            **{
                'model.generator.channels': (32, 16, 16, 16)
            }).train()
    assert 'iter_4.pth' in str(err.value) and 'model (16,' in str(err.value)


def test_a_used_work_dir_is_refused_and_left_as_it_was(work_dir):
    before = {p.name: p.read_bytes() for p in work_dir.glob('iter_*.pth')}
    with pytest.raises(
            FileExistsError, match=f'work_dir {work_dir} already holds checkpoints.*--resume.*--work-dir'):
        tiny_runner(work_dir).train()
    assert {p.name: p.read_bytes() for p in work_dir.glob('iter_*.pth')} == before


def test_rotation_keeps_the_newest_and_points_at_it(tmp_path):
    tiny_runner(tmp_path, **{'default_hooks.checkpoint.max_keep_ckpts': 1}).train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_4.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_4.pth'
    assert not list(tmp_path.glob('.*.partial'))


def test_the_checkpoint_with_the_best_fid_is_kept(tmp_path):
    """The demo config's save_best='FID/fid', rule='less', with its real FID (offline Inception) on 10 images
    at iterations 2 and 4; rotation (max_keep_ckpts=1) never touches the best one."""
    demo = Config.fromfile(osp.join(REPO, 'configs', 'sagan_demo_fashion32.py'))
    fid = dict(demo.val_evaluator.metrics[0], fake_nums=10, real_nums=10, kid=False, precision_recall=False)
    fid['inception_pkl'] = str(tmp_path / 'real10.pkl')
    runner = tiny_runner(
        tmp_path, **{
            'val_dataloader': dict(demo.val_dataloader, batch_size=10),
            'val_evaluator': dict(type='Evaluator', metrics=[fid]),
            'val_cfg': demo.val_cfg,
            'train_cfg.val_interval': 2,
            'default_hooks.checkpoint.max_keep_ckpts': 1,
        })
    runner.train()
    fids = runner.message_hub.get_scalar('val/FID/fid').data[0]  # at iterations 2 and 4
    best = [p.name for p in tmp_path.glob('best_*.pth')]
    assert len(fids) == 2 and best == [f'best_FID_fid_iter_{2 * (int(fids.argmin()) + 1)}.pth']
    assert runner.message_hub.get_info('best_score') == pytest.approx(fids.min())
    verify_checkpoint(str(tmp_path / best[0]))
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_4.pth']


def test_an_old_distributed_checkpoint_resumes_with_every_weight(trained, tmp_path):
    """Distributed runs used to save 'generator.module.x' keys, which MMEngine's non-strict resume skipped
    (random weights, resumed Adam state); they now load, every tensor equal."""
    checkpoint = torch.load(trained / 'iter_4.pth', weights_only=True)
    original = checkpoint['state_dict']
    checkpoint['state_dict'] = {
        key.replace('generator.', 'generator.module.', 1) if key.startswith('generator.') else key.replace(
            'discriminator.', 'discriminator.module.', 1) if key.startswith('discriminator.') else key:
        value
        for key, value in original.items()
    }
    torch.save(checkpoint, tmp_path / 'old_dist.pth')
    runner = tiny_runner(tmp_path / 'run', resume_from=tmp_path / 'old_dist.pth')
    with pytest.raises(ValueError, match='at iteration 4 and train_cfg.max_iters is 4: nothing is left'):
        runner.train()  # loads, then stops: it is already at max_iters
    loaded = runner.model.state_dict()
    assert loaded.keys() == original.keys()
    for key, value in original.items():
        torch.testing.assert_close(loaded[key], value, rtol=0, atol=0, msg=key)
