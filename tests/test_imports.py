"""The package's imports run one way: no module imports, directly or through others, a
module that imports it back. Read with the standard library's ``ast`` (nothing is imported),
counting every import, also those inside functions (a deferred import still ties the two)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pipelines"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target != package and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as err:
        raise AssertionError(f"import cycle: {' → '.join(err.args[1])}") from None


def test_the_graph_is_read():
    graph = import_graph()
    assert "pipelines.lib.sql_loader" in graph["pipelines.indicators.build"]
    assert not graph["pipelines.lib.cpr"], "the CPR detector is a leaf"
