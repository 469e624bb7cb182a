"""The HTML report: the page builder on plain data (tables, embedded PNGs, files beside it), the page in a
real browser (headless Chromium), the training-log plots, tools/report.py end to end on a tiny checkpoint,
and its errors."""
import base64
import io
import json
import math
import os
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from sagan_plugin.visualization.grid import image_grid
from sagan_plugin.visualization.report_html import Figure, Report, png, render, write_report
from sagan_plugin.visualization.report_plots import find_scalars, line_plot, read_scalars
from tests.apis.checkpoints import TINY, train_tiny
from tests.conftest import tiny_eval_config
from tests.evaluation.conftest import fashion_images
from tools.report import main

NAMES = ['T-shirt', 'Trouser', 'Pull<over> & co', 'Dress']  # markup in a name must come out as text
FIDS = [80.5, 210.25, float('nan'), 150.0]  # class 2: no finite FID (it sorts last)


class Page(HTMLParser):
    """The page's tables (by id: rows of cell texts) and its <img> sources."""

    def __init__(self, text: str):
        super().__init__()
        self.tables, self.images, self._table, self._cell = {}, [], None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'table':
            self._table = self.tables.setdefault(attrs['id'], [])
        elif tag == 'tr' and self._table is not None:
            self._table.append([])
        elif tag in ('td', 'th'):
            self._cell = ''
        elif tag == 'img':
            self.images.append(attrs['src'])
            if self._cell is not None:
                self._cell += '[img]'

    def handle_endtag(self, tag):
        if tag in ('td', 'th'):
            self._table[-1].append(self._cell)
            self._cell = None
        elif tag == 'table':
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def body(self, table: str) -> list:
        return self.tables[table][1:]  # the first row is the header


def decode_png(uri: str) -> Image.Image:
    prefix = 'data:image/png;base64,'
    assert uri.startswith(prefix), uri[:40]
    data = base64.b64decode(uri[len(prefix):], validate=True)
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == 'PNG'
    return image


def check_page(text: str, num_classes: int) -> Page:
    """What every report page must satisfy: per-class rows worst first, one per class, the sample table in the
    same order, every image a decodable PNG data URI."""
    page = Page(text)
    rows = page.body('per-class')
    header = page.tables['per-class'][0]
    fid = [float(r[header.index('fid')]) if r[header.index('fid')] else math.nan for r in rows]
    finite = [f for f in fid if math.isfinite(f)]
    assert finite == sorted(finite, reverse=True) and fid[:len(finite)] == finite  # non-finite ones last
    assert sorted(int(r[0]) for r in rows) == list(range(num_classes))
    samples = page.body('samples')
    assert [r[0] for r in samples] == [r[1] for r in rows]  # the same classes in the same order
    assert all(r[2] == r[3] == '[img]' for r in samples)
    assert page.images and all(decode_png(uri).size[0] > 0 for uri in page.images)
    return page


@pytest.fixture(scope='module')
def report() -> Report:
    """A report from plain data: real Fashion-MNIST strips, a line plot, scrambled class rows."""
    images = fashion_images('test', 0, 24)
    rows = [
        dict(
            **{
                'class': c,
                'name': NAMES[c],
                'num_fake': 5,
                'num_real': 6,
                'fid': FIDS[c],
                'fid_low': FIDS[c] - 10,
                'fid_high': FIDS[c] + 10
            }) for c in (3, 0, 2, 1)
    ]
    samples = {
        c: (png(image_grid(images[6 * c:6 * c + 3], 3)), png(image_grid(images[6 * c + 3:6 * c + 6], 3)))
        for c in range(4)
    }
    curve = line_plot({'FID/fid': [(1.0, 3.0), (2.0, 2.0)]}, 'truncation', 'FID', 'truncation curve')
    return Report(
        'demo <report>',
        facts=[('config', 'a.py')],
        metrics=dict(fid=120.0, fid_low=110.0, fid_high=131.5, kid=0.05, intra_fid=140.0),
        level=0.95,
        class_rows=rows,
        samples=samples,
        truncation=Figure('truncation', 'Truncation', curve, 'FID against T'),
        truncation_rows=[dict(truncation=None, fid=3.0),
                         dict(truncation=0.5, fid=2.0)])


def test_page_tables_and_images(report, tmp_path):
    page = check_page(render(report), num_classes=4)
    assert [r[1] for r in page.body('per-class')] == ['Trouser', 'Dress', 'T-shirt', 'Pull<over> & co']
    assert page.body('global-metrics')[0] == ['fid', '120', '110 – 131.5']
    assert page.tables['global-metrics'][0][2] == '95% interval'
    assert [r[0] for r in page.body('global-metrics')] == ['fid', 'kid', 'intra_fid']
    assert page.body('truncation') == [['none', '3'], ['0.5', '2']]
    assert len(page.images) == 2 * 4 + 1
    written = write_report(report, str(tmp_path))  # the same PNGs beside the page
    for c in range(4):
        assert (tmp_path / f'class_{c}_generated.png').read_bytes() == report.samples[c][0]
    assert (tmp_path / 'truncation.png').read_bytes() == report.truncation.png
    assert Page(open(written, encoding='utf-8').read()).images == page.images


def test_page_refuses_images_that_are_not_png(report):
    bad = Report('x', attention=Figure('f', 'f', b'GIF89a...'))
    with pytest.raises(ValueError, match='PNG'):
        render(bad)


@pytest.mark.skipif(
    shutil.which('chromium') is None,
    reason='headless browser test: Debian package "chromium" (/usr/bin/chromium) is not installed')
def test_page_in_headless_chromium(report, tmp_path):
    """Chromium opens the page from disk and takes a screenshot that is not blank."""
    page, shot = write_report(report, str(tmp_path / 'report')), tmp_path / 'shot.png'
    subprocess.run([
        'chromium', '--headless', '--no-sandbox', '--disable-gpu', f'--user-data-dir={tmp_path / "profile"}',
        f'--screenshot={shot}', '--window-size=1200,2000', f'file://{page}'
    ],
                   check=True,
                   capture_output=True,
                   timeout=120,
                   env=dict(os.environ, HOME=str(tmp_path)))
    image = np.asarray(Image.open(shot).convert('L'))
    assert image.shape == (2000, 1200)
    assert image.std() > 10 and len(np.unique(image)) > 50  # text, tables and photos, not a blank page


def test_training_log_plots(tmp_path):
    """scalars.json as MMEngine writes it, two starts of a run: the resumed one replaces the overlap."""
    for stamp, lines in (('20260101_000000', [
            dict(loss=1.0, **{'gamma/generator.16': 0.1}, iter=1, step=1),
            dict(**{'FID/fid': 90.0}, step=2)
    ]), ('20260102_000000', [dict(**{'FID/fid': 80.0}, step=2),
                             dict(**{'FID/fid': 70.0}, step=4)])):
        (tmp_path / stamp / 'vis_data').mkdir(parents=True)
        (tmp_path / stamp / 'vis_data' / 'scalars.json').write_text(''.join(
            json.dumps(x) + '\n' for x in lines))
    series = read_scalars(find_scalars(str(tmp_path)))
    assert series['FID/fid'] == [(2.0, 80.0), (4.0, 70.0)] and series['gamma/generator.16'] == [(1.0, 0.1)]
    assert decode_png('data:image/png;base64,' + base64.b64encode(line_plot(series, 'i', 'v', 't')).decode())


def test_bad_outputs_and_logs_are_refused_before_any_work(tmp_path):
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'old.html').write_text('x')
    with pytest.raises(FileExistsError, match='--out .*full exists and is not empty'):
        main([TINY, 'never_read.pth', '--out', str(tmp_path / 'full')])
    (tmp_path / 'file').write_text('x')
    with pytest.raises(NotADirectoryError, match='--out .*file is a file'):
        main([TINY, 'never_read.pth', '--out', str(tmp_path / 'file')])
    (tmp_path / 'run').mkdir()
    with pytest.raises(FileNotFoundError, match=f'--work-dir {tmp_path / "run"} holds no training log'):
        main([TINY, 'never_read.pth', '--out', str(tmp_path / 'new'), '--work-dir', str(tmp_path / 'run')])
    assert not (tmp_path / 'new').exists()


METRIC = ("dict(type='OfflineFID', prefix='FID', fake_nums=20, real_nums=40, sample_model='ema', "
          "balanced_classes=True, inception_pkl={pkl!r})")


def test_report_of_a_tiny_checkpoint(tmp_path):
    """Two training iterations, then the report with 20 generated and 40 real images and a two-value
    truncation sweep: every section there, and the sweep's untruncated row is the global FID (same seeded
    latents, a second Runner)."""
    run = tmp_path / 'run'
    hook = dict(type='AttentionVisualizationHook', interval=2, num_images=1, num_queries=1)  # logs gamma
    train_tiny(run, iters=2, hooks=[hook])
    config = tmp_path / 'eval.py'
    config.write_text(tiny_eval_config(TINY, METRIC.format(pkl=str(tmp_path / 'real40.pkl'))))
    out = tmp_path / 'report'
    main([
        str(config),
        str(run / 'iter_2.pth'), '--out',
        str(out), '--work-dir',
        str(run), '--num', '2', '--attention-classes', '2', '--bootstrap-rounds', '10', '--truncations',
        '0.5', 'none', '--device', 'cpu'
    ])
    text = (out / 'index.html').read_text(encoding='utf-8')
    page = check_page(text, num_classes=10)
    metrics = {r[0]: r for r in page.body('global-metrics')}
    low, high = (float(v) for v in metrics['fid'][2].split(' – '))
    assert 0 < low < high and 'intra_fid' in metrics
    header = page.tables['per-class'][0]
    assert header[4:] == ['fid', 'fid interval'] and all(r[4] and r[5] for r in page.body('per-class'))
    sweep = {r[0]: r[1] for r in page.body('truncation')}
    assert sorted(sweep) == ['0.5', 'none'] and sweep['none'] == metrics['fid'][1]
    for name in ('attention', 'training_gamma', 'truncation', 'class_0_generated', 'class_9_real'):
        assert (out / f'{name}.png').is_file()
    assert (out / 'truncation.csv').is_file()
    assert 'has no FID' in text  # the tiny run had no validation
