"""The evaluation report as one HTML file: plain data in (numbers, table rows, PNG bytes), a page out.

Every picture is embedded as a base64 PNG data URI, so ``index.html`` opens anywhere on its own; the same
PNGs are written beside it for use elsewhere. Nothing here runs a model: ``tools/report.py`` gathers the data.
"""
import base64
import html
import io
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

STYLE = """body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}th{background:#eee}td.text{text-align:left}
img{image-rendering:pixelated}img.strip{height:72px}
figure{margin:0 0 1.5em}figcaption{color:#555;max-width:900px}.note{color:#555}"""
# Keys of a per-class row that are not metric columns.
_ROW_TEXT = ('class', 'name')


@dataclass
class Figure:
    """One picture of the page: ``name`` is its file stem (``name.png`` beside the page)."""
    name: str
    title: str
    png: bytes
    caption: str = ''


@dataclass
class Report:
    """What the page shows.

    Attributes:
        title: the page's heading.
        facts: (label, text) pairs shown under it (config, checkpoint, sample counts, date).
        metrics: global metrics by name; ``<name>_low`` / ``<name>_high`` give its interval.
        level: the intervals' confidence level (0.95), or None when there are none.
        class_rows: one dict per class: 'class', 'name', 'fid' and any other numbers (``class_rows`` of
            :mod:`sagan_plugin.evaluation.per_class`); the page sorts them worst (highest FID) first.
        samples: by class id, the PNG of its generated images and the PNG of its real ones.
        attention: the attention figure of the worst classes, or None.
        truncation_rows: the truncation sweep's rows ('truncation', 'fid', ...), or empty.
        truncation: the truncation curve, or None.
        training: curves from the training log (FID, attention gammas).
        notes: sentences shown at the end (what a section lacks and why).
    """
    title: str
    facts: List[Tuple[str, str]] = field(default_factory=list)
    metrics: Dict[str, float] = field(default_factory=dict)
    level: Optional[float] = None
    class_rows: List[dict] = field(default_factory=list)
    samples: Dict[int, Tuple[bytes, bytes]] = field(default_factory=dict)
    attention: Optional[Figure] = None
    truncation_rows: List[dict] = field(default_factory=list)
    truncation: Optional[Figure] = None
    training: List[Figure] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def worst_first(rows: Sequence[dict], key: str = 'fid') -> List[dict]:
    """Rows sorted by ``key`` from highest (worst) to lowest; rows without a finite value go last."""

    def finite(row: dict) -> bool:
        value = row.get(key)
        return isinstance(value, (int, float)) and math.isfinite(value)

    return sorted(filter(finite, rows), key=lambda r: -r[key]) + [r for r in rows if not finite(r)]


def number(value) -> str:
    """A table cell: '' for None, integers as they are, floats to 4 significant digits (2 decimals from 1000
    up, where 4 digits would round a FID's integer part)."""
    if value is None or isinstance(value, str):
        return '' if value is None else html.escape(value)
    if isinstance(value, (int, np.integer)):
        return str(value)
    return f'{value:.2f}' if abs(value) >= 1000 else f'{value:.4g}'


def png(image: np.ndarray) -> bytes:
    """H×W×3 uint8 RGB → PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='PNG')
    return buffer.getvalue()


def data_uri(data: bytes) -> str:
    """PNG bytes as a ``data:`` URI (the page embeds every picture)."""
    if not data.startswith(b'\x89PNG\r\n\x1a\n'):
        raise ValueError(f'report images must be PNG bytes, got a file starting {data[:8]!r}')
    return 'data:image/png;base64,' + base64.b64encode(data).decode('ascii')


def _img(data: bytes, alt: str, css: str = '') -> str:
    return f'<img src="{data_uri(data)}" alt="{html.escape(alt)}"' + (f' class="{css}">' if css else '>')


def _table(table_id: str, header: Sequence[str], rows: Sequence[Sequence[str]], text_cols: int = 0) -> str:
    """An HTML table; cells are already HTML; the first ``text_cols`` columns are left-aligned."""
    head = ''.join(f'<th>{html.escape(h)}</th>' for h in header)
    body = ''.join('<tr>' + ''.join(f'<td class="text">{c}</td>' if i < text_cols else f'<td>{c}</td>'
                                    for i, c in enumerate(row)) + '</tr>\n' for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>'


def _interval(values: dict, key: str) -> str:
    low, high = values.get(f'{key}_low'), values.get(f'{key}_high')
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (low, high)):
        return ''
    return f'{number(low)} – {number(high)}'


def metric_table(metrics: Dict[str, float], level: Optional[float]) -> str:
    """Global metrics: name, value, interval (the ``_low``/``_high`` keys fold into their metric's row)."""
    names = [k for k in metrics if not k.endswith(('_low', '_high'))]
    rows = [[html.escape(k), number(metrics[k]), _interval(metrics, k)] for k in names]
    interval = f'{level:.0%} interval' if level else 'interval'
    return _table('global-metrics', ['metric', 'value', interval], rows, text_cols=1)


def class_table(rows: Sequence[dict]) -> str:
    """Per-class metrics, worst FID first; a column per number the rows carry, FID's interval beside it."""
    columns = [
        k for k in dict.fromkeys(k for r in rows for k in r)
        if k not in _ROW_TEXT and not k.endswith(('_low', '_high'))
    ]
    header = ['class', 'name'] + [
        c for k in columns for c in ([k, f'{k} interval'] if any(f'{k}_low' in r for r in rows) else [k])
    ]
    cells = []
    for row in worst_first(rows):
        cell = [str(row['class']), html.escape(str(row.get('name', '')))]
        for k in columns:
            cell += [number(row.get(k))] + ([_interval(row, k)] if any(f'{k}_low' in r for r in rows) else [])
        cells.append(cell)
    return _table('per-class', header, cells, text_cols=2)


def sample_table(rows: Sequence[dict], samples: Dict[int, Tuple[bytes, bytes]]) -> str:
    """One row per class (worst first, classes without a metrics row after them): generated beside real."""
    order = [r['class'] for r in worst_first(rows)]
    order += [c for c in sorted(samples) if c not in order]
    names = {r['class']: str(r.get('name', r['class'])) for r in rows}
    fids = {r['class']: r.get('fid') for r in rows}
    cells = [[
        html.escape(names.get(c, str(c))),
        number(fids.get(c)),
        _img(samples[c][0], f'generated {names.get(c, c)}', 'strip'),
        _img(samples[c][1], f'real {names.get(c, c)}', 'strip')
    ] for c in order if c in samples]
    return _table('samples', ['class', 'fid', 'generated', 'real'], cells, text_cols=1)


def figures(report: Report) -> List[Figure]:
    """The report's pictures other than the class rows, in page order."""
    return [f for f in (report.attention, report.truncation) if f] + list(report.training)


def _figure(fig: Figure, heading: str = 'h2') -> str:
    esc = html.escape
    return (f'<figure id="{esc(fig.name)}"><{heading}>{esc(fig.title)}</{heading}>{_img(fig.png, fig.title)}'
            f'<figcaption>{esc(fig.caption)}</figcaption></figure>')


def render(report: Report) -> str:
    """The page's HTML."""
    esc = html.escape
    parts = [
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(report.title)}</title>'
        f'<style>{STYLE}</style></head><body>\n<h1>{esc(report.title)}</h1>'
    ]
    if report.facts:
        parts.append('<ul>' + ''.join(f'<li><b>{esc(k)}</b>: {esc(v)}</li>'
                                      for k, v in report.facts) + '</ul>')
    if report.metrics:
        parts += ['<h2>Global metrics</h2>', metric_table(report.metrics, report.level)]
    if report.class_rows:
        parts += ['<h2>Per-class metrics, worst first</h2>', class_table(report.class_rows)]
    if report.samples:
        parts += [
            '<h2>Generated and real images by class</h2>',
            sample_table(report.class_rows, report.samples)
        ]
    parts += [_figure(report.attention)] if report.attention else []
    if report.truncation_rows or report.truncation:
        parts.append('<h2>Truncation sweep</h2>')
    if report.truncation_rows:
        keys = list(dict.fromkeys(k for r in report.truncation_rows for k in r))
        rows = [['none' if k == 'truncation' and r.get(k) is None else number(r.get(k)) for k in keys]
                for r in report.truncation_rows]  # truncation None: untruncated z
        parts.append(_table('truncation', keys, rows))
    parts += [_figure(report.truncation, 'h3')] if report.truncation else []
    parts += [_figure(fig) for fig in report.training]
    parts += [f'<p class="note">{esc(n)}</p>' for n in report.notes]
    return '\n'.join(parts) + '\n</body></html>\n'


def write_report(report: Report, out_dir: str) -> str:
    """Write ``out_dir/index.html`` and, beside it, each picture as a PNG; returns the page's path."""
    os.makedirs(out_dir, exist_ok=True)
    files = {f'{fig.name}.png': fig.png for fig in figures(report)}
    for c, (generated, real) in report.samples.items():
        files.update({f'class_{c}_generated.png': generated, f'class_{c}_real.png': real})
    for name, data in files.items():
        with open(osp.join(out_dir, name), 'wb') as f:
            f.write(data)
    page = osp.join(out_dir, 'index.html')
    with open(page, 'w', encoding='utf-8') as f:
        f.write(render(report))
    return page
