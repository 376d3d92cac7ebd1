"""The package's layout: no module of sfmc_nb reaches into another module's private names.

A private name (``_name``) is free to change with the module that defines it; another module that imports it
(``from .x import _name``) or reads it (``x._name``) breaks silently when it does. A package may use its own
private submodules (``from . import _describe``); the names inside them that start with ``_`` stay theirs.
Tests may use private names; the package may not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sfmc_nb

PACKAGE = Path(sfmc_nb.__file__).parent
STDLIB_PRIVATE_READS = {("sys", "_getframe")}   # not sfmc_nb's names: the rule is about the package's own


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name of the module ``node`` imports from."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def private_uses(path: Path) -> list[str]:
    """Each use in ``path`` of a private name another sfmc_nb module defines, as ``file:line: what``."""
    module, is_package = module_name(path), path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: dict[str, str] = {}   # local name -> the module it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    modules[alias.asname] = alias.name
                else:
                    modules[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = imported_from(module, is_package, node)
            for alias in node.names:
                dotted = f"{source}.{alias.name}"
                if is_module(dotted):
                    modules[alias.asname or alias.name] = dotted
                own_submodule = is_module(dotted) and module.startswith(source + ".") or module == source
                if source.startswith("sfmc_nb") and is_private(alias.name) and not own_submodule:
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: from {source} import "
                                 f"{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr) and isinstance(node.value, ast.Name):
            target = modules.get(node.value.id)
            if target is not None and target.startswith("sfmc_nb") and (target, node.attr) not in \
                    STDLIB_PRIVATE_READS and not is_module(f"{target}.{node.attr}"):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_imports_a_private_name_of_another_module():
    paths = sorted(PACKAGE.rglob("*.py"))
    assert len(paths) > 50   # the whole package is read, not an empty folder
    found = [use for path in paths for use in private_uses(path)]
    assert found == [], "private names used across modules (make them public where they are defined):\n" + \
        "\n".join(found)


def test_the_check_finds_a_private_import_and_a_private_read(tmp_path, monkeypatch):
    """The check itself: a module that imports or reads another's private name is reported, line by line."""
    package = tmp_path / "sfmc_nb"
    (package / "engine").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "engine" / "__init__.py").write_text("")
    (package / "engine" / "api.py").write_text("def _horizon():\n    return 1\n")
    (package / "engine" / "_inner.py").write_text("VALUE = 1\n")
    user = package / "engine" / "stream.py"
    user.write_text("from .api import _horizon\nfrom . import api, _inner\n\nx = api._horizon() + _inner.VALUE\n")
    monkeypatch.setitem(globals(), "PACKAGE", package)
    assert private_uses(user) == ["sfmc_nb/engine/stream.py:1: from sfmc_nb.engine.api import _horizon",
                                  "sfmc_nb/engine/stream.py:4: api._horizon"]
