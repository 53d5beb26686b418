"""Package exports that load on first use.

A package names its public functions once, as imports under ``if TYPE_CHECKING:`` in its
``__init__`` (what a reader and mypy see). ``lazy_exports`` gives the package a module
``__getattr__`` that serves those names, and ``__all__``, by importing the defining module
when a name is first used. So importing a package, or one light module of it, never pulls
in DoWhy, causal-learn or matplotlib through its siblings, and a package's ``__init__``
closes no import cycle. The ``__init__`` is read only then, keeping start-up untouched.
"""

import importlib
import sys

# typing costs milliseconds at start-up, more than the packages this module keeps lazy; mypy
# takes any name TYPE_CHECKING as true, and the packages' ``__init__`` use this one.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def lazy_exports(package: str, init_file: str) -> "Callable[[str], Any]":
    """The module ``__getattr__`` of ``package``, serving the ``TYPE_CHECKING`` imports of
    its ``__init__`` (``init_file``) and ``__all__``."""

    found: dict[str, str] = {}

    def owners() -> dict[str, str]:
        if found:
            return found
        import ast  # here, not at start-up: only the first exported name pays for it

        with open(init_file, encoding="utf-8") as source:
            tree = ast.parse(source.read())
        for block in tree.body:
            if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING":
                for node in block.body:
                    if isinstance(node, ast.ImportFrom) and node.module:
                        found.update({a.asname or a.name: node.module for a in node.names})
        return found

    def __getattr__(name: str) -> "Any":
        if name == "__all__":
            return sorted(owners())
        if name not in owners():
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(owners()[name]), name)
        setattr(sys.modules[package], name, value)  # later uses skip this function
        return value

    return __getattr__
