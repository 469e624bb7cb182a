import os.path as osp

import pytest
from mmengine.registry import DefaultScope

import sagan_plugin  # noqa: F401  (registers our types)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(autouse=True, scope='session')
def plugin_scope():
    """Each test builds in our scope, as a plugin config (default_scope='sagan_plugin') would."""
    with DefaultScope.overwrite_default_scope('sagan_plugin'):
        yield
