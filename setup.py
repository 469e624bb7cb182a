"""Metadata, dependencies and tool settings live in setup.cfg; this file adds what ``mim`` reads.

``mim train sagan_plugin CONFIG`` / ``mim test ...`` run ``<package>/.mim/tools/{train,test}.py`` and look
configs up in ``<package>/.mim/configs`` (with ``model-index.yml`` for ``mim search``), as every OpenMMLab
package ships them. mmagic's setup.py (``add_mim_extention``) builds that folder by looking at
``sys.argv``; here ``build_py`` does it, since a PEP 517 build never passes ``develop``/``bdist_wheel`` there.
"""
import os
import os.path as osp
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')  # what mim reads, from the repository root


class BuildPyWithMim(build_py):
    """``build_py`` that also fills ``sagan_plugin/.mim``.

    A wheel (``pip install .``, ``mim install .``) gets copies; an editable install (``pip install -e .``)
    gets links in the source tree, so edits to configs and tools are seen without reinstalling.
    """

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            _fill_mim_folder(osp.join(ROOT, 'sagan_plugin', '.mim'), link=True)
        else:
            _fill_mim_folder(osp.join(self.build_lib, 'sagan_plugin', '.mim'), link=False)


def _fill_mim_folder(mim_dir: str, link: bool) -> None:
    """Put ``MIM_FILES`` into ``mim_dir``, replacing what an earlier build left there.

    Args:
        mim_dir: the ``.mim`` folder to fill.
        link: relative symbolic links to the repository root instead of copies.
    """
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(ROOT, name), osp.join(mim_dir, name)
        if not osp.exists(src):
            raise FileNotFoundError(f'{src} is missing: mim needs it in sagan_plugin/.mim')
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if link:
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


setup(cmdclass={'build_py': BuildPyWithMim})
