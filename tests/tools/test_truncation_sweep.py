"""tools/truncation_sweep.py on a tiny checkpoint: the real test metrics through MMEngine's Runner at each
truncation value (with standing BN statistics re-estimated at each), checked against FID computed from the
same seeded latents by hand; bad values refused before anything runs."""
import csv
import functools

import numpy as np
import pytest
import torch
from PIL import Image

from sagan_plugin.apis import generate, init_model
from sagan_plugin.evaluation import FIDInceptionV3, load_stats
from sagan_plugin.evaluation.seeded_sampler import sample_latent
from sagan_plugin.evaluation.sweep import check_truncations, truncation_sweep
from tests.apis.checkpoints import TINY, save_checkpoint, tiny_config
from tests.conftest import run_tool

NUM, BATCH = 6, 4  # generated and real images per value; generator batch (the test dataloader's)

CONFIG = """_base_ = [{tiny!r}]
test_dataloader = dict(
    _delete_=True, batch_size={batch}, num_workers=0, persistent_workers=False,
    dataset=dict(type='FashionMNIST', data_root='/usr/share/datasets/fashion-mnist', split='test',
                 pipeline=[dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'),
                           dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_evaluator = dict(_delete_=True, type='Evaluator', metrics=[
    dict(type='OfflineFID', prefix='FID', fake_nums={num}, real_nums={num}, inception_pkl={pkl!r},
         sample_model='ema'),
    dict(type='ClassifierScore', fake_nums={num}, splits=2, sample_model='ema')])
test_cfg = dict(_delete_=True, type='MultiTestLoop')
"""


@functools.lru_cache(maxsize=None)
def inception() -> FIDInceptionV3:
    return FIDInceptionV3()


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """A tiny config with a tiny evaluation, and a checkpoint whose EMA generator differs from the raw one."""
    root = tmp_path_factory.mktemp('sweep')
    model = init_model(tiny_config())
    with torch.no_grad():
        for p in model.generator_ema.module.parameters():
            p.add_(0.05 * torch.randn_like(p))
    checkpoint = save_checkpoint(root / 'tiny.pth', model.state_dict())
    config = root / 'tiny_eval.py'
    config.write_text(CONFIG.format(tiny=TINY, batch=BATCH, num=NUM, pkl=str(root / 'real.pkl')))
    return str(config), checkpoint, root


def fid_by_hand(setup, truncation, bn_mode, standing) -> float:
    """FID of the EMA generator's images of the seeded latents 0..NUM-1, generated through the API (in
    batches of BATCH, as the evaluation does) against the statistics file the evaluation wrote."""
    config, checkpoint, root = setup
    model = init_model(TINY, checkpoint)
    drawn = [sample_latent(0, i, model.noise_size, model.num_classes, truncation) for i in range(NUM)]
    noise, labels = torch.stack([z for z, _ in drawn]), torch.tensor([y for _, y in drawn])
    images = torch.cat(
        list(generate(model, noise, labels, BATCH, True, False, bn_mode, truncation, standing=standing)))
    with torch.no_grad():
        feats = inception()(images, return_features=True).double().numpy()
    stats = load_stats(str(root / 'real.pkl'))
    mu, cov = stats['real_mean'], stats['real_cov']
    # Tr((Σ_r^½ Σ_f Σ_r^½)^½) through the N x N matrix Aᵀ Σ_r A / (N - 1), A the centred features
    # (Σ_f = A Aᵀ / (N - 1)): the same eigenvalues, another algorithm than the metric's, no 2048 x 2048 root
    centred = (feats - feats.mean(0)).T
    small = centred.T @ cov @ centred / (NUM - 1)
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((small + small.T) / 2), 0, None)).sum()
    fake_trace = (centred**2).sum() / (NUM - 1)
    return float(((feats.mean(0) - mu)**2).sum() + fake_trace + np.trace(cov) - 2 * trace_sqrt)


def test_sweep_writes_the_curve_of_the_real_evaluation(setup, tmp_path, capsys):
    """Standing statistics re-estimated at each value: the FIDs are those of the API's images from the same
    latents with the same statistics (tests/models/test_bn_modes.py checks those against hand-made ones)."""
    config, checkpoint, _ = setup
    out = tmp_path / 'sweep'
    run_tool(pytest.MonkeyPatch(), 'truncation_sweep.py', config, checkpoint, '--truncations', '0.5', 'none',
             '--bn-mode', 'standing', '--standing-batches', '2', '--out', out)
    with open(out / 'truncation.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['truncation'] for r in rows] == ['0.5', 'none']
    assert 'classifier_score_effnet_lite0_not_is' in rows[0] and 'is' not in rows[0]  # the header says so
    for row, truncation in zip(rows, (0.5, None)):
        expected = fid_by_hand(setup, truncation, 'standing', dict(num_batches=2))
        assert float(row['fid']) == pytest.approx(expected, rel=1e-3)
    assert float(rows[0]['fid']) != float(rows[1]['fid'])
    assert Image.open(out / 'truncation.png').size[0] > 500
    # the real statistics: written at the first value, not prepared again at the second
    printed = capsys.readouterr().out
    assert printed.count('real statistics') == 1 and 'writing real statistics' in printed, printed
    assert '| none |' in printed


def test_truncation_values_at_or_below_zero_are_refused_before_anything_runs(setup, tmp_path, capsys):
    config, checkpoint, _ = setup
    with pytest.raises(SystemExit):
        run_tool(pytest.MonkeyPatch(), 'truncation_sweep.py', config, checkpoint, '--truncations', '1', '0',
                 '--out', tmp_path / 'never')
    assert "truncation values must be numbers > 0 or \"none\", got '0'" in capsys.readouterr().err
    assert not (tmp_path / 'never').exists()
    with pytest.raises(ValueError, match=r'must be > 0 \(or None for untruncated z\), got -0.5'):
        truncation_sweep(None, [1.0, -0.5])  # checked before the runner is touched
    assert check_truncations([2, None]) == [2.0, None]
