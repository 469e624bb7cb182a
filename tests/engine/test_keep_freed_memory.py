"""env_cfg.keep_freed_memory: glibc keeps a freed large tensor's memory for the next one (fresh processes)."""
import sys

import pytest
from mmengine.config import Config

from tests.conftest import REPO, run_python

PROBE = '''
import sys, torch
from sagan_plugin.engine.launch import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS:")).split()[1]) * 1024
x = torch.ones(64 << 20, dtype=torch.uint8)  # 64 MiB, touched
before = rss()
del x
print(before - rss())
'''


def returned_to_os(mode: str) -> int:
    """Bytes the process gave back to the OS when a touched 64 MiB tensor was freed."""
    return int(run_python('-c', PROBE, mode).stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc and /proc are Linux things')
def test_freed_memory_is_kept_only_when_asked():
    assert returned_to_os('default') > 48 << 20  # glibc unmaps a large freed block at once
    assert returned_to_os('keep') < 16 << 20  # kept in the heap for the next allocation


def test_runtime_config_asks_for_it():
    cfg = Config.fromfile(f'{REPO}/configs/sagan_demo_fashion32.py')
    assert cfg.env_cfg.keep_freed_memory is True
