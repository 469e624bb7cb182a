"""The documentation points at files that exist: every relative link and image, and every repository file it
names in backticks (modules also relative to ``sagan_plugin/``, as the docs write them)."""
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCS = sorted(
    [Path(REPO, 'README.md'), *Path(REPO, 'docs').rglob('*.md'), *Path(REPO, 'configs').rglob('README.md')])
LINK = re.compile(r'\]\(([^)\s]+)\)')  # [text](target) and ![alt](target)
FILE = re.compile(
    r'`((?:tools|configs|docs|tests|sagan_plugin|models|engine|evaluation|apis|datasets|converters)/'
    r'[\w./-]+\.(?:py|sh|md|png|csv|yml))`')


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_links_and_named_files_exist(doc):
    text = doc.read_text()
    links = [t.split('#')[0] for t in LINK.findall(text) if not re.match(r'[a-z]+://|#', t)]
    missing = [t for t in links if not (doc.parent / t).exists()]
    missing += [
        p for p in FILE.findall(text)
        if not (Path(REPO, p).exists() or Path(REPO, 'sagan_plugin', p).exists())
    ]
    assert not missing, f'{doc.relative_to(REPO)} names files that do not exist: {missing}'


def test_the_checks_see_the_docs():
    """Guards against a pattern that silently matches nothing."""
    readme = Path(REPO, 'README.md').read_text()
    assert len(LINK.findall(readme)) >= 5 and len(FILE.findall(readme)) >= 50
    assert Path(REPO, 'docs', 'performance.md') in DOCS and Path(REPO, 'configs', 'sagan',
                                                                 'README.md') in DOCS
