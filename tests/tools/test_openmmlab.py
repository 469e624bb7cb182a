"""OpenMMLab conventions: mim train/test, a wheel's .mim folder, the Slurm scripts, the analysis and publish
tools, and the model index mim reads."""
import glob
import hashlib
import json
import os
import os.path as osp
import pickle
import re
import runpy
import shutil
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from modelindex.load_model_index import load as load_model_index
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from sagan_plugin.registry import MODELS
from tests.conftest import REPO, run_command, run_python, run_tool

TINY = osp.join(REPO, 'tests', 'data', 'tiny_demo.py')
DEMO = osp.join(REPO, 'configs', 'sagan_demo_fashion32.py')
TOOLS = osp.join(REPO, 'tools')
NO_VAL = ['val_dataloader=None', 'val_cfg=None', 'val_evaluator=None']


@pytest.fixture(scope='module')
def tiny_eval_config(tmp_path_factory):
    """tests/data/tiny_demo.py plus the demo's test evaluator, shrunk to FID/KID/PR on 20 images."""
    folder = tmp_path_factory.mktemp('tiny_eval')
    cfg, demo = Config.fromfile(TINY), Config.fromfile(DEMO)
    fid = dict(
        demo.test_evaluator.metrics[0],
        fake_nums=20,
        real_nums=20,
        inception_pkl=str(folder / 'real20.pkl'),
        kid=dict(subsets=5, subset_size=10))
    cfg.test_dataloader, cfg.test_cfg = demo.test_dataloader, demo.test_cfg
    cfg.test_evaluator = dict(type='Evaluator', metrics=[fid])
    cfg.dump(folder / 'tiny_eval.py')
    return folder / 'tiny_eval.py'


@pytest.fixture(scope='module')
def mim_trained(tiny_eval_config, tmp_path_factory):
    """`python -m mim train` in the development install (tools/setup.sh's editable install)."""
    work_dir = tmp_path_factory.mktemp('mim_train')
    proc = run_python('-m', 'mim', 'train', 'sagan_plugin', tiny_eval_config, '--work-dir', work_dir)
    return work_dir, proc.stdout


def test_mim_train_runs_the_repositorys_train_script(mim_trained):
    work_dir, out = mim_trained
    script = osp.join(REPO, 'sagan_plugin', '.mim', 'tools', 'train.py')
    assert f'Training command is {sys.executable} {script} ' in out
    assert osp.realpath(script) == osp.join(TOOLS, 'train.py')
    assert (work_dir / 'iter_4.pth').is_file()


def test_mim_test_evaluates_the_checkpoint(mim_trained, tiny_eval_config):
    work_dir, _ = mim_trained
    out = work_dir / 'metrics.json'
    checkpoint = work_dir / 'iter_4.pth'
    proc = run_python('-m', 'mim', 'test', 'sagan_plugin', tiny_eval_config, '--checkpoint', checkpoint,
                      '--work-dir', work_dir, '--out', out)
    assert f'{REPO}/sagan_plugin/.mim/tools/test.py' in proc.stdout
    metrics = json.loads(out.read_text())
    assert metrics['FID/fid'] > 0 and 0 <= metrics['FID/recall'] <= 1


def test_a_wheel_carries_configs_tools_and_model_index_for_mim(tmp_path):
    """`pip install .` (not editable): mim finds the config by name and runs the wheel's own tools."""
    src, site, work_dir = tmp_path / 'src', tmp_path / 'site', tmp_path / 'work'
    skip = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim')
    src.mkdir()
    for name in ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md', 'LICENSE', 'model-index.yml'):
        shutil.copy(osp.join(REPO, name), src / name)
    for name in ('sagan_plugin', 'configs', 'tools'):
        shutil.copytree(osp.join(REPO, name), src / name, ignore=skip)
    offline = ['-q', '--no-deps', '--no-build-isolation', '--no-index']
    run_python('-m', 'pip', 'install', *offline, '--target', site, src)
    mim_dir = site / 'sagan_plugin' / '.mim'
    assert not any(p.is_symlink() for p in mim_dir.rglob('*'))  # copies: the wheel outlives the source tree
    assert (mim_dir / 'tools' / 'train.py').read_text() == (src / 'tools' / 'train.py').read_text()
    short = ['train_cfg.max_iters=1', 'train_dataloader.dataset.num_samples=100', *NO_VAL]
    installed = dict(cwd=tmp_path, env=dict(PYTHONPATH=str(site)))
    proc = run_python('-m', 'mim', 'train', 'sagan_plugin', 'sagan_demo_fashion32.py', '--work-dir', work_dir,
                      '--cfg-options', *short, **installed)
    assert f'will use {mim_dir}/configs/sagan_demo_fashion32.py' in proc.stdout
    assert f'Training command is {sys.executable} {mim_dir}/tools/train.py' in proc.stdout
    assert (work_dir / 'iter_1.pth').is_file()
    search = run_python('-m', 'mim', 'search', 'sagan_plugin', **installed)
    assert 'sagan_imagenet128' in search.stdout and 'sagan_demo_fashion32' in search.stdout


FAKE_SRUN = '#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$SRUN_LOG/args"\nenv > "$SRUN_LOG/env"\n'


SLURM_CASES = {  # script, its 4th argument, what follows the config on the python line, $PYTHON
    'train': ('slurm_train.sh', 'wd', ['--work-dir=wd', '--launcher=slurm'], '/opt/py/bin/python'),
    'test': ('slurm_test.sh', 'x.pth', ['x.pth', '--launcher=slurm'], None),
}


@pytest.mark.parametrize('script, fourth, tail, python', SLURM_CASES.values(), ids=SLURM_CASES.keys())
def test_slurm_scripts_command_line(tmp_path, script, fourth, tail, python):
    """A fake srun on PATH records what the script asks Slurm to run, and with which environment."""
    (tmp_path / 'srun').write_text(FAKE_SRUN)
    (tmp_path / 'srun').chmod(0o755)
    env = dict(PATH=f'{tmp_path}:{os.environ["PATH"]}', SRUN_LOG=str(tmp_path), GPUS='16', GPUS_PER_NODE='8')
    env.update(SRUN_ARGS='--qos=high --time=2-00:00:00', **({'PYTHON': python} if python else {}))
    config, extra = 'configs/sagan_imagenet128.py', ['--cfg-options', 'data_root=/data/my imagenet']
    command = ['bash', osp.join(TOOLS, script), 'gpu', 'sagan', config, fourth, *extra]
    run_command(*command, env=env, unset=() if python else ('PYTHON', ))
    tool = osp.join(TOOLS, script.replace('slurm_', '').replace('.sh', '.py'))
    assert (tmp_path / 'args').read_text().splitlines() == [
        '-p', 'gpu', '--job-name=sagan', '--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8',
        '--cpus-per-task=5', '--kill-on-bad-exit=1', '--qos=high', '--time=2-00:00:00', python or 'python',
        '-u', tool, config, *tail, *extra
    ]
    recorded = dict(line.split('=', 1) for line in (tmp_path / 'env').read_text().splitlines() if '=' in line)
    assert recorded['PYTHONPATH'].split(':')[0] == REPO
    assert 12000 <= int(recorded['MASTER_PORT']) < 32000


def test_slurm_script_without_arguments_prints_its_usage():
    proc = run_command('bash', osp.join(TOOLS, 'slurm_train.sh'), 'gpu', check=False)
    assert proc.returncode == 2 and 'usage:' in proc.stderr and 'WORK_DIR' in proc.stderr


def test_print_config_merges_bases_and_overrides(capsys, monkeypatch):
    overrides = ['train_cfg.max_iters=7', 'optim_wrapper.generator_lr=3e-4']
    run_tool(monkeypatch, 'analysis_tools/print_config.py', DEMO, '--cfg-options', *overrides)
    text = capsys.readouterr().out
    assert text.startswith('Config:\n')
    printed = Config.fromstring(text[len('Config:\n'):], '.py')
    assert printed.train_cfg.max_iters == 7 and printed.optim_wrapper.generator_lr == 3e-4
    assert printed.optim_wrapper.constructor == 'TTUROptimWrapperConstructor'  # from _base_/schedules
    expected = Config.fromfile(DEMO)
    expected.merge_from_dict({'train_cfg.max_iters': 7, 'optim_wrapper.generator_lr': 3e-4})
    assert printed.to_dict() == expected.to_dict()


def test_get_flops_counts_the_fused_attention_as_torchs_math_kernel(capsys, monkeypatch):
    """The CPU flash SDPA kernel gets torch's SDPA formula; the unfused kernel (bmm) gives the same count."""
    tool = runpy.run_path(osp.join(TOOLS, 'analysis_tools', 'get_flops.py'))
    model, kernels = MODELS.build(Config.fromfile(TINY).model), set()
    for name in ('generator', 'discriminator'):
        network = getattr(model, name)
        inputs = tool['network_inputs'](name, network)
        fused = tool['count'](network, inputs)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            network(*inputs)
        kernels.update(counter.get_flop_counts()['Global'])
        with sdpa_kernel(SDPBackend.MATH):
            unfused = tool['count'](network, inputs)
        assert fused == unfused and fused['attention_flops'] > 0
        assert fused['params'] == sum(p.numel() for p in network.parameters())
    assert tool['CPU_FLASH_SDPA'] in kernels  # G's attention ran the fused kernel (D's 1-wide heads do not)
    run_tool(monkeypatch, 'analysis_tools/get_flops.py', TINY)
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert rows['generator'][1] == rows['discriminator'][1] == '32'
    assert float(rows['generator'][3]) == pytest.approx(float(rows['generator'][4]) * 2, abs=2e-3)


def test_publish_model_keeps_weights_and_meta_under_its_sha256(mim_trained, tmp_path, capsys, monkeypatch):
    checkpoint = mim_trained[0] / 'iter_4.pth'
    tool = run_tool(monkeypatch, 'model_converters/publish_model.py', checkpoint, tmp_path / 'sagan_tiny.pth')
    published = capsys.readouterr().out.strip()
    sha = hashlib.sha256(open(published, 'rb').read()).hexdigest()
    assert published == str(
        tmp_path / f'sagan_tiny-{sha[:8]}.pth') and os.listdir(tmp_path) == [osp.basename(published)]
    original, kept = (torch.load(p, map_location='cpu', weights_only=True) for p in (checkpoint, published))
    assert {'optimizer', 'message_hub'} < set(original) and set(kept) == {'meta', 'state_dict'}
    assert kept['meta'] == original['meta'] and kept['state_dict'].keys() == original['state_dict'].keys()
    for key, value in original['state_dict'].items():
        torch.testing.assert_close(kept['state_dict'][key], value, rtol=0, atol=0, msg=key)
    load_checkpoint(
        MODELS.build(Config.fromfile(TINY).model), published, strict=True)  # as tools/test.py loads
    allowed = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()  # a user without sagan_plugin's allow-list
    try:
        torch.load(published, weights_only=True)
        with pytest.raises(pickle.UnpicklingError):
            torch.load(checkpoint, weights_only=True)
    finally:
        torch.serialization.add_safe_globals(allowed)
    torch.save(dict(weights={}), tmp_path / 'bare.pth')
    with pytest.raises(KeyError, match='bare.pth has no "state_dict"'):
        tool['publish'](str(tmp_path / 'bare.pth'), str(tmp_path / 'out.pth'))


def test_model_index_lists_every_config_and_the_model_card_links_resolve():
    index = load_model_index(osp.join(REPO, 'model-index.yml'))
    listed = [model.config for model in index.models]
    experiments = sorted(
        osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
        if f'{os.sep}_base_{os.sep}' not in p)
    assert sorted(listed) == experiments and len({m.name for m in index.models}) == len(listed)
    card = osp.join(REPO, index.collections[0].readme)
    links = re.findall(r'\]\(([^)#\s]+)', open(card).read())
    assert links and [link for link in links if not link.startswith('http')]
    missing = [
        link for link in links
        if not link.startswith('http') and not osp.exists(osp.join(osp.dirname(card), link))
    ]
    assert not missing
