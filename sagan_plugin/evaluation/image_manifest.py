"""Which class each image of a scored set belongs to: a manifest (``tools/sample.py``'s ``manifest.json``, or
one written by hand as JSON or CSV) or a class folder's name, checked against the model's class names.

A class is given by id (an integer, or a string of digits) or by name, case-insensitively; ``/`` in a class
name may be written ``_`` (Fashion-MNIST's ``T-shirt/top`` cannot be a folder name). A class the model lacks
is an error that names it and lists the model's classes, never an image left out.
"""
import csv
import json
import os.path as osp
from typing import List, NamedTuple, Optional, Sequence, Union

import numpy as np

SAMPLE_MANIFEST = 'manifest.json'  # what tools/sample.py --out-dir writes beside its PNGs
ClassValue = Union[int, str, None]


class Entry(NamedTuple):
    """One manifest line: the image ``file`` (relative to the image folder, or absolute), its class (id or
    name, None when the line gives none) and, from ``tools/sample.py``, the name it wrote beside the id."""
    file: str
    value: ClassValue
    written_name: Optional[str] = None


def known_classes(class_names: Sequence[str], limit: int = 20) -> str:
    """``0 'T-shirt/top', 1 'Trouser', ...`` for error messages (the first ``limit`` and the count)."""
    listed = ', '.join(f'{i} {name!r}' for i, name in enumerate(class_names[:limit]))
    return listed + (f', ... ({len(class_names)} classes)' if len(class_names) > limit else '')


def class_id(value: ClassValue, class_names: Sequence[str], where: str) -> int:
    """The id in ``[0, len(class_names))`` of a class given by id or name; ``where`` names the source."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise ValueError(f'{where}: {value!r} is not a class; give a class id or name '
                         f'(the model\'s classes: {known_classes(class_names)})')
    if isinstance(value, (int, np.integer)) or str(value).strip().isdigit():
        index = int(value)
        if not 0 <= index < len(class_names):
            raise ValueError(f'{where}: class id {index} is outside [0, {len(class_names)}); the model\'s '
                             f'classes are {known_classes(class_names)}')
        return index
    key = str(value).strip().lower()
    for index, name in enumerate(class_names):
        if key in (name.lower(), name.lower().replace('/', '_')):
            return index
    raise ValueError(f'{where}: class {value!r} is not one of the model\'s classes: '
                     f'{known_classes(class_names)}')


def entry_class(entry: Entry, class_names: Sequence[str], where: str) -> int:
    """The class id of a manifest entry; an id written with a name must agree with the model's name for it
    (a manifest of another model's classes would otherwise be scored against the wrong classes)."""
    index = class_id(entry.value, class_names, f'{where}: {entry.file}')
    if entry.written_name is not None and entry.written_name.lower() != class_names[index].lower():
        raise ValueError(f'{where}: {entry.file} is class {index} named {entry.written_name!r}, but the '
                         f'model\'s class {index} is {class_names[index]!r}; were the images made by a model '
                         f'with other classes? The model\'s classes: {known_classes(class_names)}')
    return index


def read_manifest(path: str) -> List[Entry]:
    """The entries of a JSON or CSV manifest (see the module docstring of image_sets.py for the formats)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'manifest {path} does not exist')
    if path.lower().endswith('.json'):
        entries = _json_entries(path)
    elif path.lower().endswith('.csv'):
        entries = _csv_entries(path)
    else:
        raise ValueError(f'manifest {path}: expected a .json or .csv file (file -> class name or id)')
    if not entries:
        raise ValueError(f'manifest {path} lists no images')
    seen = set()
    for entry in entries:
        if entry.file in seen:
            raise ValueError(f'manifest {path} lists {entry.file} twice')
        seen.add(entry.file)
    return entries


def _json_entries(path: str) -> List[Entry]:
    """``{"images": [{"file", "class_id", "class_name"}, ...]}`` (tools/sample.py), a list of such entries,
    or ``{"file": class, ...}``."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f'manifest {path} is not readable JSON: {err}') from None
    items = data.get('images') if isinstance(data, dict) and 'images' in data else data
    if isinstance(items, dict):
        return [Entry(str(file), value) for file, value in items.items()]
    if not isinstance(items, list) or not all(isinstance(item, dict) and 'file' in item for item in items):
        raise ValueError(f'manifest {path}: expected {{"images": [{{"file": ..., "class_id": ...}}, ...]}} '
                         '(as tools/sample.py writes), a list of such entries, or {"file": class, ...}')
    entries = []
    for item in items:
        value = item.get('class_id', item.get('class', item.get('class_name')))
        written = item.get('class_name') if 'class_id' in item else None
        entries.append(Entry(str(item['file']), value, written))
    return entries


def _csv_entries(path: str) -> List[Entry]:
    """Rows ``file,class`` (or ``file`` alone: no classes); a first row ``file,...`` is a header."""
    with open(path, newline='') as f:
        rows = [(number, row) for number, row in enumerate(csv.reader(f), 1) if any(c.strip() for c in row)]
    if rows and rows[0][1][0].strip().lower() == 'file':
        rows = rows[1:]
    entries = []
    for number, row in rows:
        if len(row) not in (1, 2):
            raise ValueError(f'manifest {path}, line {number}: expected "file,class", got {row}')
        value = row[1].strip() if len(row) == 2 and row[1].strip() else None
        entries.append(Entry(row[0].strip(), value))
    return entries
