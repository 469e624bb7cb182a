"""The README's distributed commands on CPU (gloo, 2 processes): the ImageNet command literally, a killed
worker, and --resume afterwards."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
from mmengine.config import Config

from sagan_plugin.engine.checkpoint_files import read_last_checkpoint, verify_checkpoint
from tests.conftest import REPO, build_runner, free_port, run_command
from tests.reliability.conftest import TINY, make_imagenet

# The ImageNet config at a size two CPU processes train in seconds: the same 128x128 networks with
# attention at 64x64, narrower; no evaluation (it needs FID statistics of the whole set and an IS file).
SMALL_IMAGENET = [
    'model.generator.channels=(32,32,16,16,8,8)', 'model.discriminator.channels=(8,16,16,32,32,32)',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'train_cfg.max_iters=2',
    'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1', 'custom_hooks.0.interval=1000',
    'val_dataloader=None', 'val_cfg=None', 'val_evaluator=None'
]


def dist_train(*args, activated=False):
    """tools/dist_train.sh ARGS with PYTHON set, or as the README says: in the activated environment; it must
    succeed."""
    env = dict(PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    if activated:  # what `source .venv/bin/activate` does
        del env['PYTHON']
        env['PATH'] = f'{osp.dirname(sys.executable)}:{os.environ["PATH"]}'
    return run_command('bash', 'tools/dist_train.sh', *args, env=env, unset=('PYTHON', ) if activated else ())


def test_readme_imagenet_command_trains_and_checkpoints(tmp_path):
    """`source .venv/bin/activate && tools/dist_train.sh configs/sagan_imagenet128.py 4 --cfg-options
    data_root=/data/imagenet`, with 2 processes and the small sizes above, on an ImageNet-layout folder of
    20 real photos."""
    root = make_imagenet(tmp_path / 'imagenet')
    proc = dist_train(
        'configs/sagan_imagenet128.py',
        2,
        '--cfg-options',
        f'data_root={root}',
        *SMALL_IMAGENET,
        '--work-dir',
        tmp_path / 'work',
        activated=True)
    log = proc.stdout + proc.stderr
    assert f'data_root data/imagenet -> {root} for train_dataloader.dataset' in log
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert f'20 of the 20 images listed in {root}/meta/train.txt exist' in log
    assert 'Distributed training: True' in log and 'Iter(train) [2/2]' in log
    verify_checkpoint(str(tmp_path / 'work' / 'iter_2.pth'))


def children(pid):
    """The processes whose parent is ``pid`` (torchrun's workers)."""
    found = []
    for entry in os.listdir('/proc'):
        try:
            with open(f'/proc/{entry}/stat') as f:
                if entry.isdigit() and int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, IndexError):
            pass
    return found


def wait_for(condition, timeout, what):
    end = time.time() + timeout
    while not condition():
        if time.time() > end:
            pytest.fail(f'timed out waiting for {what}')
        time.sleep(0.5)


def test_killed_worker_ends_the_job_and_resume_continues(tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    job = subprocess.Popen([
        'bash', 'tools/dist_train.sh', TINY, '2', '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_iters=100000', 'custom_hooks.0.interval=1000'
    ],
                           cwd=REPO,
                           env=env,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE,
                           text=True,
                           start_new_session=True)
    try:
        wait_for(lambda: osp.isfile(tmp_path / 'last_checkpoint') or job.poll() is not None, 300,
                 'a checkpoint')
        assert job.poll() is None, job.communicate()[1][-3000:]
        workers = children(job.pid)  # bash exec'd torchrun: job.pid is the agent
        assert len(workers) == 2, workers
        os.kill(workers[-1], signal.SIGKILL)
        killed = time.time()
        stderr = job.communicate(timeout=120)[1]
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode != 0 and time.time() - killed < 60, stderr[-3000:]
    assert 'ChildFailedError' in stderr, stderr[-3000:]  # torchrun's report naming the failed worker

    last = read_last_checkpoint(str(tmp_path))
    step = int(osp.basename(last)[5:-4])
    dist_train(TINY, 2, '--work-dir', tmp_path, '--resume', '--cfg-options',
               f'train_cfg.max_iters={step + 2}', 'custom_hooks.0.interval=1000')
    log = max(tmp_path.glob('*/*.log')).read_text()  # the resumed run's (newest timestamp)
    assert f'Load checkpoint from {last}' in log and f'Iter(train) [{step + 2}/{step + 2}]' in log
    assert 'Distributed training: True' in log and "dist_cfg: {'backend': 'gloo'}" in log
    assert 'do not match' not in log  # every weight came back
    # a checkpoint of a distributed run loads strictly into a single-process model (tools/test.py)
    cfg = Config.fromfile(TINY)
    cfg.work_dir = str(tmp_path / 'single')
    build_runner(cfg).load_checkpoint(str(tmp_path / f'iter_{step + 2}.pth'), strict=True)
