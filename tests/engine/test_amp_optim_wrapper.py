"""AmpOptimWrapper on CPU: bfloat16 autocast through MMEngine's own wrapper, SN and losses kept in float32."""
import copy

import pytest
import torch
from mmengine import MessageHub
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper
from mmengine.optim import build_optim_wrapper

from sagan_plugin.engine.amp_optim_wrapper import AmpOptimWrapper, cpu_has_fast_bf16
from sagan_plugin.registry import MODELS, OPTIM_WRAPPERS
from tests.conftest import REPO, build_runner
from tests.models.test_sagan import TINY, batch  # noqa: F401  (the fixture: six real Fashion-MNIST images)

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')


def test_our_scope_builds_the_cpu_capable_wrapper():
    wrapper = OPTIM_WRAPPERS.build(
        dict(type='AmpOptimWrapper', optimizer=torch.optim.Adam(torch.nn.Linear(2, 2).parameters())))
    assert type(wrapper) is AmpOptimWrapper and isinstance(wrapper, MMEngineAmpOptimWrapper)
    assert wrapper.cast_dtype is torch.bfloat16
    assert wrapper.state_dict()['loss_scaler'] == {
    }  # nothing to scale with bf16: resume has nothing to restore


def test_float16_on_cpu_is_a_clear_error():
    with pytest.raises(ValueError, match="only bfloat16 autocast exists, got dtype='float16'"):
        OPTIM_WRAPPERS.build(
            dict(type='AmpOptimWrapper', dtype='float16', optimizer=torch.optim.SGD([torch.zeros(1)], lr=1)))


def amp_steps(model, optim, data: dict, iterations: int):
    """``iterations`` training iterations (n_dis = 2: odd ones update G too). Returns the dtypes seen at one D
    conv (the SN weight it receives, its output), the weights before, and the last iteration's logs."""
    seen = {}
    conv = model.discriminator.blocks[1].conv1
    conv.register_forward_pre_hook(lambda m, i: seen.update(sn_weight=m.weight.dtype))  # after SN's hook
    conv.register_forward_hook(lambda m, i, o: seen.update(conv_out=o.dtype))
    before = [p.detach().clone() for p in model.parameters()]
    hub = MessageHub.get_current_instance()
    for i in range(iterations):
        hub.update_info('iter', i)
        logs = model.train_step(data, optim)
    return seen, before, logs


def test_a_bf16_training_step_runs_convs_in_bf16_and_keeps_sn_and_losses_in_fp32(batch):  # noqa: F811
    model = MODELS.build(copy.deepcopy(TINY))
    optim = build_optim_wrapper(model,
                                dict(constructor='TTUROptimWrapperConstructor', type='AmpOptimWrapper'))
    seen, before, logs = amp_steps(model, optim, batch, iterations=2)
    assert seen == dict(conv_out=torch.bfloat16, sn_weight=torch.float32)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in logs.values())
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the master weights stay fp32
    assert sum(not torch.equal(a, b) for a, b in zip(before, model.parameters())) > len(before) // 2


def test_runner_trains_and_resumes_with_amp_on_cpu(tmp_path):
    """What tools/train.py --amp sets (an AmpOptimWrapper in bfloat16) through MMEngine's Runner."""
    cfg = Config.fromfile(f'{REPO}/tests/data/tiny_demo.py')
    cfg.work_dir = str(tmp_path)
    cfg.optim_wrapper.update(type='AmpOptimWrapper', dtype='bfloat16')
    cfg.train_cfg.max_iters = 2
    build_runner(cfg).train()
    checkpoint = torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert set(checkpoint['optimizer']['generator']) >= {'state', 'param_groups', 'loss_scaler'}


@pytest.mark.parametrize('fast', [True, False])
def test_cpu_without_bf16_arithmetic_warns_that_bf16_is_not_faster(fast, monkeypatch, mm_log):
    """bf16 without AMX or AVX-512 BF16 is slower than fp32: the user is told, not left to find out."""
    monkeypatch.setattr('sagan_plugin.engine.amp_optim_wrapper.cpu_has_fast_bf16', lambda: fast)
    OPTIM_WRAPPERS.build(dict(type='AmpOptimWrapper', optimizer=torch.optim.SGD([torch.zeros(1)], lr=1)))
    assert any('this CPU has no native bf16 arithmetic' in m for m in mm_log) is (not fast)


@pytest.mark.parametrize('flags, fast', [('fpu avx512f amx_bf16 amx_tile', True),
                                         ('fpu avx512f avx512_bf16', True),
                                         ('fpu avx512f avx512_vnni', False)])
def test_fast_bf16_read_from_cpu_flags(flags, fast, tmp_path):
    """AMX (Intel) and AVX-512 BF16 (AMD Zen 4: bf16 2x fp32 there) count; AVX-512 alone does not."""
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(f'processor\t: 0\nmodel name\t: x\nflags\t\t: {flags}\n\nprocessor\t: 1\n')
    assert cpu_has_fast_bf16(str(cpuinfo)) is fast
    assert cpu_has_fast_bf16(str(tmp_path / 'missing')) is True  # not Linux: nothing claimed
