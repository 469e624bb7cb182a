"""init_model: runner and converted checkpoint layouts, EMA or not, and errors that name file and keys."""
import pytest
import torch

from sagan_plugin.apis import init_model, parse_layers, sample_images
from tests.apis.checkpoints import TINY, save_checkpoint, tiny_config


def test_generator_only_checkpoint_samples(model_and_checkpoint, tmp_path):
    """A converted checkpoint may hold only the generator (and no meta): enough to sample."""
    model, path = model_and_checkpoint
    state = torch.load(path, weights_only=True)['state_dict']
    only_g = {k: v for k, v in state.items() if k.startswith('generator.')}
    converted = init_model(TINY, save_checkpoint(tmp_path / 'g.pth', only_g, meta=False))
    assert converted.checkpoint_parts == {'generator'} and not converted.with_ema_gen
    raw = sample_images(model, classes=[2, 5], use_ema=False, seed=1)
    again = sample_images(converted, classes=[2, 5], seed=1)
    assert not again.ema and torch.equal(raw.images, again.images)
    assert again.col_titles == ['Pullover', 'Sandal']  # names from the config's dataset without meta
    assert parse_layers(converted, None) == ['generator.16']  # D was not loaded: not drawn by default
    with pytest.raises(ValueError, match='no discriminator'):
        parse_layers(converted, ['discriminator.16'])
    with pytest.raises(ValueError, match='no EMA generator'):
        sample_images(converted, use_ema=True)


def test_ema_weights_load_even_without_ema_in_config(model_and_checkpoint):
    model, path = model_and_checkpoint
    cfg = tiny_config(ema_config=None)
    reloaded = init_model(cfg, path)
    assert reloaded.with_ema_gen
    assert torch.equal(sample_images(reloaded, seed=2).images, sample_images(model, seed=2).images)


def test_architecture_mismatch_lists_keys_and_file(model_and_checkpoint, tmp_path):
    _, path = model_and_checkpoint
    wider = tiny_config(generator=dict(channels=(32, 16, 16, 16)))
    with pytest.raises(
            ValueError, match=r'tiny.pth: generator weights do not fit.*shape mismatches: '
            r'blocks\.2\.'):
        init_model(wider, path)
    state = torch.load(path, weights_only=True)['state_dict']
    state['generator.extra.weight'] = torch.zeros(1)
    del state['generator.linear.weight_orig']
    bad = save_checkpoint(tmp_path / 'bad.pth', state)
    with pytest.raises(ValueError) as err:
        init_model(TINY, bad)
    assert 'bad.pth' in str(err.value) and 'missing keys: linear.weight_orig' in str(err.value)
    assert 'unexpected keys: extra.weight' in str(err.value)
    state = {'generator.linear.bias': torch.zeros(1), 'optimizer.step': torch.zeros(1)}
    with pytest.raises(ValueError, match=r'keys outside generator.*optimizer\.step'):
        init_model(TINY, save_checkpoint(tmp_path / 'other.pth', state))
    with pytest.raises(ValueError, match=r'no generator\.\* weights'):
        init_model(TINY, save_checkpoint(tmp_path / 'd.pth', {'discriminator.linear.bias': torch.zeros(1)}))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_model(TINY, str(tmp_path / 'missing.pth'))


def test_unconverted_peer_checkpoint_points_to_the_converter(tmp_path):
    """An mmagic runner checkpoint pickles MMEngine's statistics methods through builtins.getattr."""
    from mmengine.logging import HistoryBuffer
    path = str(tmp_path / 'mmagic.pth')
    torch.save(dict(state_dict={'generator.x': torch.zeros(1)}, hub=HistoryBuffer.mean), path)
    with pytest.raises(ValueError, match=r'mmagic.pth.*converted first: tools/convert_checkpoint.py'):
        init_model(TINY, path)
