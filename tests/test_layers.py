"""The package's layers point only down (``sagan_plugin/__init__.py`` draws them), and no module but
``compat.py`` reaches into a library's private API. Both read the source with ``ast``: nothing is imported."""
import ast
import pathlib
import sys
from typing import Iterator, List, Tuple

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'sagan_plugin'
# Rank of each top-level module or subpackage: an import may go to the same rank or lower.
LAYERS = {
    'registry': 0,
    'compat': 0,
    'models': 1,
    'datasets': 2,
    'evaluation': 2,
    'visualization': 3,
    'engine': 4,
    'converters': 5,
    'apis': 5,
}
LIBRARIES = ('torch', 'mmengine', 'mmagic', 'mmcv', 'numpy', 'torchvision', 'torch_fidelity')
# Objects whose private attributes are the object's own: our classes reading their own state.
OWN = ('self', 'cls')
PUBLIC = {('os', '_exit')}  # documented Python API despite the underscore


def modules() -> Iterator[Tuple[str, ast.Module]]:
    """(dotted name, syntax tree) of every module of the package."""
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
        name = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
        yield name, ast.parse(path.read_text(), filename=str(path))


def imported(name: str, tree: ast.Module, is_package: bool) -> Iterator[Tuple[str, int]]:
    """(absolute module name, line) of every import in ``tree``, function-level ones included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split('.')[:len(name.split('.')) - node.level + (1 if is_package else 0)]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield target, node.lineno
            # `from . import engine` or `from sagan_plugin import apis` names a module, not an attribute
            yield from ((f'{target}.{alias.name}', node.lineno) for alias in node.names)


def layer(module: str) -> str:
    """The layer of a dotted name inside the package ('' for the package root)."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ''


def upward_edges() -> List[str]:
    edges = {}  # one per importing line and layer: `from x import a, b` names x once
    for name, tree in modules():
        own = layer(name)
        if not own:  # the root __init__ imports what registration needs, from every layer
            continue
        is_package = (PACKAGE / pathlib.Path(*name.split('.')[1:]) / '__init__.py').exists()
        for target, line in imported(name, tree, is_package):
            other = layer(target) if target.startswith('sagan_plugin.') else None
            if other is None or other not in LAYERS or other == own:
                continue
            if LAYERS[other] > LAYERS[own]:
                edges.setdefault(
                    (name, line, other),
                    f'{name} (layer {own}, line {line}) imports {target} (layer {other}, above it)')
    return list(edges.values())


def private_reaches() -> List[str]:
    """``obj._name`` on anything but self/cls, and ``from <library> import _name`` / ``<library>._x``
    imports, outside compat.py."""
    found = []
    for name, tree in modules():
        if name == 'sagan_plugin.compat':
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                owner = node.value.id if isinstance(node.value, ast.Name) else None
                if owner not in OWN and (owner, node.attr) not in PUBLIC:
                    found.append(f'{name} line {node.lineno}: .{node.attr}')
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module.startswith(LIBRARIES):
                names = [a.name for a in node.names if _private(a.name)]
                if names or any(_private(part) for part in node.module.split('.')):
                    found.append(f'{name} line {node.lineno}: from {node.module} import {names or "..."}')
    return found


def _private(name: str) -> bool:
    return name.startswith('_') and not name.startswith('__')


def test_layers_are_known():
    packages = {layer(name) for name, _ in modules()} - {''}
    assert packages <= set(LAYERS), f'add {sorted(packages - set(LAYERS))} to LAYERS (and to __init__.py)'


def test_no_import_points_up():
    edges = upward_edges()
    assert not edges, 'imports against the layers of sagan_plugin/__init__.py:\n' + '\n'.join(edges)


def test_no_private_api_outside_compat():
    reaches = private_reaches()
    assert not reaches, 'private attributes used outside sagan_plugin/compat.py:\n' + '\n'.join(reaches)


def test_the_checks_see_an_upward_edge_and_a_reach(tmp_path, monkeypatch):
    """The two checks are not vacuous: a planted module importing apis from models, and reading a private
    attribute, is reported."""
    tree = ast.parse('from sagan_plugin.apis import init_model\nx = runner._load_from\n')
    monkeypatch.setattr(sys.modules[__name__], 'modules',
                        lambda: iter([('sagan_plugin.models.planted', tree)]))
    assert upward_edges() == [
        'sagan_plugin.models.planted (layer models, line 1) imports sagan_plugin.apis '
        '(layer apis, above it)'
    ]
    assert private_reaches() == ['sagan_plugin.models.planted line 2: ._load_from']
