"""No pickle and no code execution from data anywhere in the shipped packages (read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("kb", "ingest", "embed", "eval")
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "shelve", "marshal", "joblib", "cloudpickle"}
UNSAFE_BUILTINS = {"eval", "exec", "compile", "__import__"}


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def _findings(path: Path) -> list[str]:
    """What in ``path`` could run code or unpickle objects from data, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        else:
            names = set()
        found += [f"{node.lineno}: import {name}" for name in names & UNSAFE_MODULES]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        literal_arg = bool(node.args) and isinstance(node.args[0], ast.Constant)
        if isinstance(func, ast.Name) and func.id in UNSAFE_BUILTINS:
            # __import__("embed") names a module in the code itself: not code from data.
            if not (func.id == "__import__" and literal_arg):
                found.append(f"{node.lineno}: {func.id}()")
        keywords = {k.arg: k.value for k in node.keywords}
        pickle_on = keywords.get("allow_pickle")
        if isinstance(pickle_on, ast.Constant) and pickle_on.value is True:
            found.append(f"{node.lineno}: allow_pickle=True")
        if isinstance(func, ast.Attribute) and func.attr == "load" and ast.unparse(func.value) == "torch":
            weights_only = keywords.get("weights_only")
            if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                found.append(f"{node.lineno}: torch.load without weights_only=True")
        if isinstance(func, ast.Attribute) and func.attr == "load" and ast.unparse(func.value) == "yaml":
            found.append(f"{node.lineno}: yaml.load (use yaml.safe_load)")
    return found


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_module_neither_unpickles_nor_evaluates(path: Path) -> None:
    """No pickle-family import, eval/exec, allow_pickle=True, unsafe torch.load or yaml.load."""
    assert _findings(path) == []
