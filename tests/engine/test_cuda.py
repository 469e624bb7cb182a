"""The CUDA paths: mixed precision through MMEngine's own AmpOptimWrapper, inductor-compiled G and D, every
speed switch and ``with_cp`` on the GPU, and a Runner run with --amp. Skipped without a
GPU (docs/performance.md has the report of a GPU run)."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper
from mmengine.optim import build_optim_wrapper

from sagan_plugin.registry import MODELS
from tests.conftest import REPO, build_runner
from tests.engine.test_amp_optim_wrapper import amp_steps
from tests.models import test_checkpointing, test_speed_switches
from tests.models.test_sagan import TINY, batch  # noqa: F401  (the fixture: six real Fashion-MNIST images)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')

CUDA_SWITCHES = dict(
    test_speed_switches.SWITCHES, compile=(dict(compile=False), dict(compile=True)))  # inductor


@pytest.fixture
def no_tf32():
    """Full fp32 convs (cuDNN defaults to TF32, 10-bit mantissas): the switch tests compare the math."""
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32 = before


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16], ids=['bf16', 'fp16'])
def test_amp_steps_run_convs_in_low_precision_and_keep_sn_and_losses_in_fp32(batch, dtype):  # noqa: F811
    model = MODELS.build(copy.deepcopy(TINY)).cuda()
    optim = build_optim_wrapper(
        model, dict(constructor='TTUROptimWrapperConstructor', type='AmpOptimWrapper', dtype=str(dtype)[6:]))
    assert all(
        type(w) is not MMEngineAmpOptimWrapper and isinstance(w, MMEngineAmpOptimWrapper)
        for w in optim.values())  # ours, which is MMEngine's on CUDA (with its dynamic loss scaler)
    seen, before, logs = amp_steps(model, optim, batch, iterations=4)
    assert seen == dict(conv_out=dtype, sn_weight=torch.float32)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in logs.values())
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    if dtype is torch.bfloat16:
        assert changed > len(before) // 2
    else:  # fp16 overflows at MMEngine's initial loss scale 2**16, so the first steps are skipped (on an
        # H200 all of these were): why tools/train.py --amp means bf16
        assert all(w.loss_scaler.get_scale() < 2.0**16 for w in optim.values())


@pytest.mark.parametrize('switch', CUDA_SWITCHES)
def test_a_training_iteration_is_the_same_with_and_without(switch, batch, no_tf32):  # noqa: F811
    # cuDNN picks algorithms per layout: looser than on CPU
    test_speed_switches.assert_same_training(*CUDA_SWITCHES[switch], batch, 'cuda', rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize('name', sorted(test_checkpointing.NETWORKS))
def test_with_cp_same_outputs_gradients_and_state(name):
    # gradients looser than on CPU: cuDNN's weight-gradient kernels accumulate with atomics
    test_checkpointing.assert_same_as_plain(name, torch.bfloat16, 'cuda', rtol=1e-3, atol=1e-5)


def test_runner_trains_on_the_gpu_with_amp(tmp_path):
    """What ``tools/train.py --amp`` sets, through MMEngine's Runner: bf16 autocast, the model on CUDA, and a
    checkpoint that loads with weights_only."""
    cfg = Config.fromfile(f'{REPO}/tests/data/tiny_demo.py')
    cfg.work_dir = str(tmp_path)
    cfg.optim_wrapper.update(type='AmpOptimWrapper', dtype='bfloat16')
    cfg.train_cfg.max_iters = 2
    runner = build_runner(cfg)
    runner.train()
    assert next(runner.model.parameters()).is_cuda
    assert all(w.cast_dtype is torch.bfloat16 for w in runner.optim_wrapper.values())
    checkpoint = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert set(checkpoint['optimizer']['generator']) >= {'state', 'param_groups', 'loss_scaler'}
