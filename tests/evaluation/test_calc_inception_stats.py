"""tools/calc_inception_stats.py writes the file the config's metric reuses, and guards it (--force)."""
import importlib.util
import os.path as osp

import pytest

from sagan_plugin.evaluation import load_stats
from tests.conftest import REPO

CONFIG = """
default_scope = 'sagan_plugin'
model = dict(data_preprocessor=dict(type='DataPreprocessor'))
pipeline = [dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'), dict(type='PackInputs')]
test_dataloader = dict(batch_size=4, dataset=dict(type='FashionMNIST', split='test', num_samples=16,
                                                  pipeline=pipeline))
test_evaluator = dict(type='Evaluator', metrics=[
    dict(type='OfflineFID', fake_nums=8, real_nums=8, inception_pkl={pkl!r}),
    dict(type='OfflineIS', fake_nums=8, inception_path='missing.pt'),  # not built by the tool: no file needed
])
"""


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('calc_inception_stats',
                                                  osp.join(REPO, 'tools', 'calc_inception_stats.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def config(tmp_path):
    pkl = str(tmp_path / 'fmnist_test8.pkl')
    path = tmp_path / 'cfg.py'
    path.write_text(CONFIG.format(pkl=pkl))
    return str(path), pkl


def test_tool_writes_the_metrics_file_then_guards_it(tool, config, capsys):
    path, pkl = config
    tool.main([path, '--save-features'])
    stats = load_stats(pkl)
    assert stats['num_images'] == 8 and stats['real_feats'].shape == (8, 2048)
    assert f'{pkl}: 8 images of FashionMNIST' in capsys.readouterr().out
    with pytest.raises(ValueError, match='number of images: file has 8, metric uses 6'):
        tool.main([path, '--num-images', '6'])
    tool.main([path, '--num-images', '6', '--force'])
    assert load_stats(pkl)['num_images'] == 6


@pytest.mark.parametrize('options, message', [
    (['--out', 'a.pkl', '--cfg-options', 'test_evaluator.metrics.1.type=OfflineFID'], '--out names one file'),
    (['--cfg-options', 'test_evaluator.metrics.0.inception_pkl='], 'nothing to write'),
])
def test_tool_refuses_ambiguous_or_missing_targets(tool, config, options, message):
    with pytest.raises(ValueError, match=message):
        tool.main([config[0]] + options)
