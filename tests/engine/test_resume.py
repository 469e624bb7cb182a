"""train -> checkpoint -> --resume through MMEngine's Runner on real Fashion-MNIST images."""
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config

from tests.conftest import REPO, build_runner

TINY = osp.join(REPO, 'tests', 'data', 'tiny_demo.py')


def run(work_dir, resume_from=None):
    cfg = Config.fromfile(TINY)
    cfg.work_dir = str(work_dir)
    if resume_from:
        cfg.resume, cfg.load_from = True, str(resume_from)
    runner = build_runner(cfg)
    runner.train()
    return runner


def state(path):
    return torch.load(path, map_location='cpu', weights_only=True)


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('straight')
    run(work_dir)
    return work_dir


def test_resumed_run_equals_uninterrupted_run(uninterrupted, tmp_path):
    """Resuming at iteration 2 and training to 4 gives bit-identical weights to training 0 -> 4 in one go:
    model, EMA, both Adam states, the iteration counter, the data order and the RNG streams all came back."""
    runner = run(tmp_path, resume_from=uninterrupted / 'iter_2.pth')
    assert runner.iter == 4
    straight, resumed = state(uninterrupted / 'iter_4.pth'), state(tmp_path / 'iter_4.pth')
    assert resumed['meta']['iter'] == straight['meta']['iter'] == 4
    assert any('generator_ema' in k for k in straight['state_dict'])
    for key, value in straight['state_dict'].items():
        torch.testing.assert_close(resumed['state_dict'][key], value, rtol=0, atol=0, msg=key)
    for name in ('generator', 'discriminator'):
        adam = resumed['optimizer'][name]['state']
        assert adam and all(int(s['step']) == 4 for s in adam.values())  # n_dis = 1: 4 G and 4 D updates


def test_checkpoint_holds_rng_state_and_loads_weights_only(uninterrupted):
    checkpoint = state(uninterrupted / 'iter_2.pth')  # weights_only=True: no arbitrary pickles
    assert set(checkpoint['rng_state']) == {'torch', 'cuda', 'numpy', 'python'}
    assert set(checkpoint['optimizer']) == {'generator', 'discriminator'}


class Payload:
    """What a malicious checkpoint carries: unpickling it would run a shell command."""

    def __reduce__(self):
        return os.system, ('echo this must never run', )


def test_allow_list_does_not_admit_arbitrary_objects(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, payload=Payload()), path)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        torch.load(path, weights_only=True)


def test_truncated_checkpoint_is_a_clear_error(uninterrupted, tmp_path):
    data = (uninterrupted / 'iter_2.pth').read_bytes()
    broken = tmp_path / 'truncated.pth'
    broken.write_bytes(data[:len(data) // 2])
    from sagan_plugin.engine.launch import check_checkpoint
    with pytest.raises(ValueError, match='truncated or not a PyTorch checkpoint'):
        check_checkpoint(str(broken))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        check_checkpoint(str(tmp_path / 'missing.pth'))


def test_demo_artifacts(uninterrupted):
    """The run leaves a log and mmagic's sample grid PNG (10 columns, one class each)."""
    grids = list(uninterrupted.glob('*/vis_data/vis_image/fake_img_*.png'))
    assert grids, 'VisualizationHook wrote no grid'
    assert list(uninterrupted.glob('*/*.log'))
