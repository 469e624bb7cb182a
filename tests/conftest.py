import logging
import os
import os.path as osp
import runpy
import socket
import subprocess
import sys
import uuid

import pytest

# mmagic imports albumentations, which asks PyPI for a newer version unless told not to; the suite (and the
# tools it starts, which inherit the environment) must not wait on the network.
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')

from mmengine.logging import MMLogger  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import sagan_plugin  # noqa: E402,F401  (registers our types)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def build_runner(cfg) -> Runner:
    """``Runner.from_cfg`` with an experiment name of its own. MMEngine names a run ``<config>_<timestamp>``
    to the second and reuses the logger and visualizer of that name, so two runs of one config started within
    a second in this process would write the second's logs and figures into the first's work_dir."""
    cfg.experiment_name = f'{osp.splitext(osp.basename(cfg.filename))[0]}_{uuid.uuid4().hex[:12]}'
    return Runner.from_cfg(cfg)


def run_command(*cmd,
                timeout: int = 600,
                check: bool = True,
                env: dict = None,
                unset: tuple = (),
                cwd=REPO,
                **popen) -> subprocess.CompletedProcess:
    """``cmd`` as a user types it, in the repository's root unless ``cwd`` says otherwise (each part through
    ``str``), output captured as text. ``env`` adds to this process's environment and ``unset`` removes names
    from it; with ``check`` the command must succeed, and a failure shows the tail of both streams."""
    environ = {k: v for k, v in dict(os.environ, **(env or {})).items() if k not in unset}
    proc = subprocess.run([str(c) for c in cmd],
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=timeout,
                          env=environ,
                          **popen)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def run_python(*args, **kwargs) -> subprocess.CompletedProcess:
    """``python ARGS`` with this interpreter (a tool, script or ``-c`` program); see ``run_command``."""
    return run_command(sys.executable, *args, **kwargs)


def run_tool(monkeypatch, script: str, *args) -> dict:
    """``tools/<script> ARGS`` in this process, exactly as its command line would run it (so a test can catch
    its exception); returns the script's globals."""
    monkeypatch.setattr(sys, 'argv', [osp.basename(script), *map(str, args)])
    return runpy.run_path(osp.join(REPO, 'tools', script), run_name='__main__')


def free_port() -> int:
    """A TCP port nobody listens on now, for a test's process group (a guessed one may be taken)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True, scope='session')
def plugin_scope():
    """Each test builds in our scope, as a plugin config (default_scope='sagan_plugin') would."""
    with DefaultScope.overwrite_default_scope('sagan_plugin'):
        yield


@pytest.fixture
def mm_log():
    """The messages MMEngine's current logger emits during the test (it does not propagate to caplog)."""
    messages = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


# The tiny demo's model evaluated on the first Fashion-MNIST test images by one metric (a dict's source text):
# tiny_eval_config(TINY, "dict(type='OfflineFID', ...)") for tools/test.py, report.py, ...
_EVAL_CONFIG = """_base_ = [{tiny!r}]
test_dataloader = dict(_delete_=True, batch_size=10, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FashionMNIST', data_root='/usr/share/datasets/fashion-mnist', split='test',
                 pipeline=[dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'),
                           dict(type='PackInputs')]))
test_evaluator = dict(_delete_=True, type='Evaluator', metrics=[{metric}])
test_cfg = dict(_delete_=True, type='MultiTestLoop')
"""


def tiny_eval_config(tiny: str, metric: str) -> str:
    """The text of a config: ``tiny`` (a config file) evaluated by ``metric`` (a dict's source text)."""
    return _EVAL_CONFIG.format(tiny=tiny, metric=metric)
