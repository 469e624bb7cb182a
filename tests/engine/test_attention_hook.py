"""AttentionVisualizationHook in a short Runner run: figures to the local and TensorBoard backends, γ in the
log, and training left exactly as it would be without the hook."""
import glob
import json
import os.path as osp

import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sagan_plugin.apis import figure_size
from sagan_plugin.registry import HOOKS
from tests.apis.checkpoints import train_tiny
from tests.conftest import build_runner

HOOK = dict(type='AttentionVisualizationHook', interval=3, num_images=2, num_queries=2, panel_size=48)
BACKENDS = [dict(type='VisBackend'), dict(type='TensorboardVisBackend')]


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The tiny demo trained 4 iterations with the hook (local + TensorBoard backends) and without it (both
    keep the config's other hooks, e.g. mmagic's VisualizationHook, which draws from the global RNG)."""
    with_hook = tmp_path_factory.mktemp('hook')
    runner = train_tiny(with_hook, iters=4, hooks=[HOOK], **{'visualizer.vis_backends': BACKENDS})
    without = tmp_path_factory.mktemp('plain')
    train_tiny(without, iters=4)
    return with_hook, without, runner


def test_figures_reach_local_and_tensorboard_backends(runs):
    work_dir, _, _ = runs
    files = sorted(glob.glob(str(work_dir / '*' / 'vis_data' / 'vis_image' / 'attention_*.png')))
    assert [osp.basename(f) for f in files] == ['attention_3.png', 'attention_4.png']  # interval, last
    width, height = figure_size([2, 2], 2, 48)  # generator.16 and discriminator.16, 2 images, 2 queries
    assert Image.open(files[0]).size == (width, height)
    events = EventAccumulator(glob.glob(str(work_dir / '*' / 'vis_data' / 'events*'))[0])
    events.Reload()
    assert [e.step for e in events.Images('attention')] == [3, 4]
    assert [e.step for e in events.Scalars('gamma/generator.16')] == [1, 2, 3, 4]


def test_gamma_is_logged_every_log_interval(runs):
    work_dir, _, runner = runs
    log = open(glob.glob(str(work_dir / '*' / '*.log'))[0]).read()
    lines = [line for line in log.splitlines() if 'Iter(train)' in line]
    assert len(lines) == 4 and all('gamma/generator.16:' in line and 'gamma/discriminator.16:' in line
                                   for line in lines)
    scalars = [
        json.loads(line) for line in open(glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))[0])
    ]
    model = runner.model
    assert scalars[-1]['gamma/generator.16'] == pytest.approx(
        float(model.generator.attention['16'].gamma.detach()))
    assert scalars[-1]['gamma/discriminator.16'] == pytest.approx(
        float(model.discriminator.attention['16'].gamma.detach()))
    assert scalars[-1]['gamma/generator.16'] != 0  # four Adam steps moved γ away from its initial 0


def test_hook_leaves_training_untouched(runs):
    """Eval mode, no_grad and its own random generator: the weights after 4 iterations are bit-identical."""
    with_hook, without, _ = runs
    a = torch.load(with_hook / 'iter_4.pth', weights_only=True)['state_dict']
    b = torch.load(without / 'iter_4.pth', weights_only=True)['state_dict']
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_bad_layer_is_reported_before_training(tmp_path):
    with pytest.raises(
            ValueError, match=r"no attention layer 'generator.64'; this model has \['generator.16'"):
        train_tiny(tmp_path, iters=1, hooks=[dict(HOOK, layers=['generator.64'])])
    assert HOOKS.get('AttentionVisualizationHook') is not None


def test_the_residual_control_logs_gamma_and_draws_no_figure(tmp_path):
    """The ablation's control arm: gamma in the log, no attention map to draw, training unaffected."""
    from mmengine.config import Config

    from tests.conftest import REPO
    cfg = Config.fromfile(f'{REPO}/tests/data/tiny_demo.py')
    cfg.work_dir = str(tmp_path)
    cfg.model.generator.attention_variant = cfg.model.discriminator.attention_variant = 'residual'
    cfg.train_cfg.max_iters = 2
    cfg.custom_hooks = [dict(type='AttentionVisualizationHook', interval=1)]
    runner = build_runner(cfg)
    runner.train()
    assert {'train/gamma/generator.16', 'train/gamma/discriminator.16'} <= set(runner.message_hub.log_scalars)
    assert not list(tmp_path.glob('*/vis_data/vis_image/attention_*.png'))
