"""Modules a library imports at import time but an audit never uses, loaded on first use.

Great Expectations imports ``scipy.stats`` and ``altair`` when it is imported (for
distribution expectations and charts this project does not use): ≈ 1.4 s of the ≈ 3.4 s its
import costs, paid in every validation process. :func:`defer` registers such modules with
the standard library's ``importlib.util.LazyLoader``: ``import altair`` then gives a module
object at once, and the module is executed the first time one of its attributes is read, so
a library that does use it gets it whole, only later. Nothing else changes: a module not
named is imported as usual, and a named module already imported stays as it is.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec

UNUSED_BY_GREAT_EXPECTATIONS = ("scipy.stats", "altair")


class _Deferring(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def find_spec(self, name: str, path, target=None) -> ModuleSpec | None:
        if name not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


_FINDER = _Deferring()


def defer(*names: str) -> None:
    """Import ``names`` (full module names) lazily from now on in this process."""
    _FINDER.names.update(names)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
