"""load_from: strict by default (a file of another model is an error listing the keys), partial loading
only where the config's load_from_partial names what may differ."""
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from sagan_plugin.registry import MODELS
from tests.apis.checkpoints import save_checkpoint, tiny_config
from tests.conftest import build_runner
from tests.reliability.conftest import NAN_KEY, TINY
from tests.reliability.test_checkpoints import log_of


def load_from_runner(work_dir, checkpoint, **cfg):
    """The tiny demo as a new run starting from ``checkpoint`` (``load_from``), one iteration long; ``cfg``
    replaces top-level keys (``model``, ``load_from_partial``)."""
    config = Config.fromfile(TINY)
    config.merge_from_dict({'train_cfg.max_iters': 1})
    config.update(cfg, work_dir=str(work_dir), load_from=str(checkpoint), resume=False)
    return build_runner(config)


class LoadedWeights(Hook):
    """Keeps the model's state as training starts (after load_from)."""

    def before_train(self, runner):
        self.state = {k: v.clone() for k, v in runner.model.state_dict().items()}


def test_load_from_a_file_of_something_else_is_refused(tmp_path):
    torch.save({'foo': 1}, tmp_path / 'foo.pth')
    with pytest.raises(
            ValueError,
            match=r'(?s)load_from .*foo.pth does not fit this model \(\d+ differences.*'
            r'missing in the checkpoint:\n    generator\..*not in the model:\n    foo\n.*load_from_partial'):
        load_from_runner(tmp_path / 'run', tmp_path / 'foo.pth').train()


def test_load_from_another_architecture_lists_the_keys(trained, tmp_path):
    model = tiny_config(**{'generator.channels': (32, 16, 16, 16)}).model
    with pytest.raises(
            ValueError,
            match=r'does not fit this model .*\n  \d+ other shapes:\n    generator\..*: '
            r'checkpoint \(8,'):
        load_from_runner(tmp_path / 'run', trained / 'iter_4.pth', model=model).train()


def test_load_from_with_nan_weights_is_refused(trained, tmp_path):
    with pytest.raises(ValueError, match=f'nan.pth holds non-finite values .*{NAN_KEY}'):
        load_from_runner(tmp_path / 'run', trained / 'nan.pth').train()


def test_fine_tuning_to_another_class_count_by_name(tmp_path):
    """A 5-class model's weights start a 10-class run: refused until the class embeddings may differ; then
    every other tensor is the checkpoint's and the embeddings keep their fresh initialisation."""
    source = MODELS.build(tiny_config(num_classes=5).model).state_dict()
    path = save_checkpoint(tmp_path / 'five.pth', source)
    with pytest.raises(
            ValueError,
            match=r'50 other shapes:\n    generator.blocks.0.bn1.gain.weight_orig: checkpoint \(5, 32\) vs '
            r'model \(10, 32\)'):
        load_from_runner(tmp_path / 'strict', path).train()
    runner = load_from_runner(tmp_path / 'partial', path, load_from_partial=dict(allow=['class_embeddings']))
    loaded = LoadedWeights()
    runner.register_hook(loaded, priority='HIGHEST')
    messages = log_of(runner)
    runner.train()
    fresh = {k for k in source if source[k].shape != loaded.state[k].shape}
    assert fresh and all('.gain.' in k or '.bias.' in k or k.startswith('discriminator.embedding.')
                         for k in fresh)
    for key in set(source) - fresh:
        torch.testing.assert_close(loaded.state[key], source[key], rtol=0, atol=0, msg=key)
    assert any('keep their fresh initialisation' in m and 'discriminator.embedding,' in m for m in messages)


def test_a_misspelt_partial_group_is_an_error(trained, tmp_path):
    with pytest.raises(ValueError, match="load_from_partial: 'class_embedding' matches no key"):
        load_from_runner(
            tmp_path / 'run', trained / 'iter_4.pth',
            load_from_partial=dict(allow=['class_embedding'])).train()
