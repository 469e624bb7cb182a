"""tools/sample.py --bn-mode: the API's images for each BatchNorm mode, recorded in the manifest."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from sagan_plugin.apis import init_model, sample_images
from tests.apis.checkpoints import TINY, save_checkpoint, tiny_config
from tools.sample import main


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    model = init_model(tiny_config())
    with torch.no_grad():  # statistics far from what the weights produce, so the modes differ visibly
        for m in model.generator_ema.module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.add_(0.5)
                m.running_var.mul_(3)
    return save_checkpoint(tmp_path_factory.mktemp('ckpt') / 'tiny.pth', model.state_dict())


def folder_images(folder) -> np.ndarray:
    manifest = json.loads((folder / 'manifest.json').read_text())
    return manifest, np.stack([np.asarray(Image.open(folder / e['file'])) for e in manifest['images']])


@pytest.mark.parametrize('mode', ['batch', 'standing'])
def test_each_mode_gives_the_api_images(checkpoint, tmp_path, mode, capsys):
    folder = tmp_path / mode
    args = [TINY, checkpoint, '--classes', '0', '5', '--per-class', '3', '--truncation', '0.8', '--seed', '2']
    main(args + ['--bn-mode', mode, '--standing-batches', '2', '--batch-size', '4', '--out-dir', str(folder)])
    assert f'BatchNorm statistics: {mode}' in capsys.readouterr().out
    manifest, images = folder_images(folder)
    assert manifest['bn_mode'] == mode
    assert manifest['batch_size' if mode == 'batch' else 'standing_batches'] == (4 if mode == 'batch' else 2)
    model = init_model(TINY, checkpoint)
    expected = sample_images(
        model, [0, 5], 3, truncation=0.8, seed=2, batch_size=4, bn_mode=mode, standing=dict(num_batches=2))
    assert (images == expected.images.permute(0, 2, 3, 1).numpy()).all()
    running = sample_images(model, [0, 5], 3, truncation=0.8, seed=2, batch_size=4)
    assert not torch.equal(running.images, expected.images)
    # the model the API sampled from is unchanged: running statistics as loaded
    assert torch.equal(
        sample_images(model, [0, 5], 3, truncation=0.8, seed=2, batch_size=4).images, running.images)


def test_bad_values_are_refused_before_loading(tmp_path, capsys):
    for extra, message in ((['--bn-mode',
                             'eval'], "invalid choice: 'eval'"), (['--truncation',
                                                                   '0'], '--truncation must be > 0, got 0.0'),
                           (['--standing-batches', '0'], '--standing-batches must be >= 1')):
        with pytest.raises(SystemExit):
            main([TINY, 'missing.pth', '--out', str(tmp_path / 'g.png')] + extra)
        assert message in capsys.readouterr().err
