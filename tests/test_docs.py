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
    assert len(LINK.findall(readme)) >= 5 and len(FILE.findall(readme)) >= 10
    assert len(FILE.findall('\n'.join(p.read_text() for p in DOCS))) >= 120
    assert Path(REPO, 'docs', 'performance.md') in DOCS and Path(REPO, 'configs', 'sagan',
                                                                 'README.md') in DOCS


# One source per figure: the model card holds the results, the metafile and the README quote them, the
# records in docs/ hold the measurements. A figure quoted in two places is checked equal here.
CARD = Path(REPO, 'configs', 'sagan', 'README.md')
NUMBER = re.compile(r'\d+(?:[.,]\d+)*')
# a speed ratio, a mean ± std, a percentage, a time, a size or rate, an FID: the figures the README quotes
FIGURE = re.compile(
    r'(?<![\d.×])\d+(?:\.\d+)?(?:–\d+(?:\.\d+)?)?(?:×(?!\d)| ± \d+(?:\.\d+)?|%| s\b| GB\b| img/s)'
    r'|FID \d+\.\d+(?!\d| ±)')


def _numbers(text):
    """Every number in ``text`` as a float ('1,500' -> 1500.0; a date gives its parts)."""
    return {float(n.replace(',', '')) for n in NUMBER.findall(text)}


def _section(text, heading):
    """The text under a Markdown heading, up to the next heading of any level."""
    match = re.search(rf'^#+ {re.escape(heading)}\n(.*?)(?=^#|\Z)', text, re.M | re.S)
    assert match, f'no section "{heading}"'
    return match.group(1)


def _config_value(path, variable, key):
    """``variable = dict(key=...)`` of an MMEngine config file, following ``_base_`` as MMEngine merges it."""
    import ast
    tree = ast.parse(path.read_text())
    bases = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name == variable and isinstance(node.value, ast.Call):
                for kw in node.value.keywords:
                    if kw.arg == key:
                        return ast.literal_eval(kw.value)
            if name == '_base_':
                value = ast.literal_eval(node.value)
                bases = [value] if isinstance(value, str) else list(value)
    for base in reversed(bases):  # a later base overrides an earlier one
        found = _config_value(path.parent / base, variable, key)
        if found is not None:
            return found
    return None


def _card_rows():
    """The model card's results table: {config name: {column: cell}}."""
    lines = [
        line for line in _section(CARD.read_text(), 'Results and models').splitlines() if line.startswith('|')
    ]
    header = [cell.strip() for cell in lines[0].strip('|').split('|')]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip('|').split('|')]
        name = re.match(r'\[([\w ]+)\]', cells[0])
        if name and len(cells) == len(header):
            rows[name.group(1)] = dict(zip(header, cells))
    return rows


def _metafile_models():
    import yaml
    return yaml.safe_load(Path(REPO, 'configs', 'sagan', 'metafile.yml').read_text())['Models']


def test_metafile_results_are_the_model_cards():
    """Each metric of the metafile is in the model card: the headline in the config's row, every metric in
    the card's text naming the config."""
    card, rows, checked = CARD.read_text(), _card_rows(), 0
    for model in _metafile_models():
        stem = Path(model['Config']).stem
        for result in model.get('Results', []):
            assert stem in rows, f'metafile.yml has results for {stem}; the model card has no row for it'
            headline = next(iter(result['Metrics'].values()))
            assert headline in _numbers(
                rows[stem]['FID']), (f'{stem}: metafile {headline}, model card row {rows[stem]["FID"]}')
            text = '\n'.join(b for b in card.split('\n\n') if f'configs/{stem}.py' in b)
            for metric, value in result['Metrics'].items():
                assert value in _numbers(
                    text), f'{stem}: metafile {metric} = {value} is not in the model card'
                checked += 1
    assert checked >= 4


def test_iterations_agree_between_configs_metafile_and_model_card():
    rows, models = _card_rows(), _metafile_models()
    for model in models:
        config = Path(REPO, model['Config'])
        iters = _config_value(config, 'train_cfg', 'max_iters')
        assert model['Metadata'].get('Iterations', iters) == iters, (
            f'metafile.yml: {model["Name"]} has Iterations {model["Metadata"]["Iterations"]}, {config.name} '
            f'trains {iters}')
        if config.stem in rows:
            card = rows[config.stem]['Iters'].replace(',', '').replace('M', '000000').replace('k', '000')
            assert int(card) == iters, f'model card: {config.stem} Iters {card}, the config trains {iters}'
    ablation = [m for m in models if 'ablation' in m['Config']]
    assert len(ablation) >= 5 and len(rows) >= 7


def test_readme_demo_figures_are_the_model_cards():
    """The README's demo paragraph (after ``<!-- demo-figures -->``) quotes the model card's demo figures."""
    readme = Path(REPO, 'README.md').read_text()
    paragraph = readme.split('<!-- demo-figures -->\n', 1)[1].split('\n\n', 1)[0]
    source = _section(CARD.read_text(), "The demo's figures")
    missing = _numbers(paragraph) - _numbers(source)
    assert not missing, f"README's demo figures {sorted(missing)} are not in the model card's demo section"
    demo = _card_rows()['sagan_demo_fashion32']['FID']
    results = readme.split('## Configs and results', 1)[1].split('\n## ', 1)[0]
    demo_row = next(line for line in results.splitlines() if 'sagan_demo_fashion32' in line)
    assert demo in demo_row, f'README results table: {demo_row}; model card: FID {demo}'


def test_ablation_table_is_the_reports():
    """The model card's ablation table is the one that tools/experiments/attention_ablation.py writes."""

    def table(text):
        return [
            line for line in text.splitlines() if re.match(r'\| (no_attention|attention_|residual_)', line)
        ]

    report = table(Path(REPO, 'docs', 'ablation', 'summary.md').read_text().split('\n\n')[0])
    assert len(report) >= 5 and table(_section(CARD.read_text(), 'Attention ablation')) == report


def test_readme_figures_come_from_the_records():
    """Every speed ratio, mean ± std, time, rate and FID in the README is written in a record under docs/ or
    in the model card, where its date, machine and command are."""
    readme = Path(REPO, 'README.md').read_text()
    records = '\n'.join(p.read_text() for p in DOCS if p.name != 'README.md' or p.parent != Path(REPO))
    figures = FIGURE.findall(readme)
    missing = [f for f in figures if f not in records]
    assert not missing, f'README figures found in no record: {missing}'
    assert len(figures) >= 10


def test_mmagic_figures_are_mmagics():
    """The model card's figures for mmagic's own SAGAN are those of mmagic's metafile (its best-FID rows)."""
    import importlib.util

    import yaml
    spec = importlib.util.find_spec('mmagic')
    meta = Path(spec.submodule_search_locations[0], '.mim', 'configs', 'sagan', 'metafile.yml')
    published = [
        v for m in yaml.safe_load(meta.read_text())['Models'] for r in m['Results']
        for v in r['Metrics'].values() if isinstance(v, float)
    ]
    sentence = re.search(r"mmagic 1\.2's own SAGAN.*?statistics\)", CARD.read_text(), re.S).group(0)
    quoted = {float(x) for x in re.findall(r'(?:FID|IS) (\d+\.\d+)', sentence)}
    missing = [q for q in quoted if not any(abs(q - v) < 0.0051 for v in published)]  # quoted to 2 decimals
    assert len(quoted) >= 6 and not missing, f'not in mmagic metafile: {missing}'


def test_readme_stays_a_ten_minute_read():
    """The README holds the user's path; details, records and diaries belong in docs/."""
    readme = Path(REPO, 'README.md')
    lines, size = len(readme.read_text().splitlines()), readme.stat().st_size
    assert lines <= 200 and size <= 15_000, f'README.md: {lines} lines, {size} bytes (at most 200 and 15,000)'
