"""A tiny SAGAN (the test demo config) saved in the runner's checkpoint layout."""
import pytest
import torch

from sagan_plugin.apis import init_model
from tests.apis.checkpoints import TINY, save_checkpoint, tiny_config


@pytest.fixture(scope='module')
def model_and_checkpoint(tmp_path_factory):
    """A freshly initialised tiny model whose EMA generator differs from the raw one, saved and reloaded."""
    model = init_model(tiny_config())
    with torch.no_grad():  # an EMA that is not a copy, so tests can tell which generator ran
        for p in model.generator_ema.module.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = save_checkpoint(tmp_path_factory.mktemp('ckpt') / 'tiny.pth', model.state_dict())
    return init_model(TINY, path), path
