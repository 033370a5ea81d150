"""The code location: it loads, the asset graph is the one in ``tests/snapshots/asset_graph.txt``
(so a change to keys, groups, steps, checks or dependencies is a visible diff), publishing is
the last step, and the entry points import each other one way only.

After an intended change of the graph: ``MYELOMA_AUDIT_UPDATE_SNAPSHOTS=1 python -m pytest
tests/test_definitions.py`` rewrites the snapshot; review its diff like code."""

import ast
import os
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import PRIORITY_TAG

from pipelines.asset_keys import LAYER_OF_PREFIX, PUBLISH_GROUP, PUBLISHED_KEY
from pipelines.definitions import defs

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"
GROUP_ORDER = [*LAYER_OF_PREFIX.values(), PUBLISH_GROUP]


def describe_graph(definitions: dg.Definitions) -> str:
    """Every asset by layer: its group, the step that builds it, what it depends on, its checks."""
    graph = definitions.resolve_asset_graph()
    job = definitions.resolve_implicit_global_asset_job_def()
    step_of = {key: handle.name for handle, assets_def in job.asset_layer.assets_defs_by_node_handle.items()
               for key in assets_def.keys} if hasattr(job.asset_layer, "assets_defs_by_node_handle") else {}
    checks: dict[dg.AssetKey, list[str]] = {}
    for assets_def in graph.assets_defs:
        for spec in assets_def.check_specs:
            checks.setdefault(spec.asset_key, []).append(f"{spec.name}{' (blocking)' if spec.blocking else ''}")
    lines = ["# The asset graph of pipelines/definitions.py (tests/test_definitions.py). One block per asset:",
             "# group  key  [step]", "#     <- dependency", "#     check name", ""]
    keys = sorted(graph.get_all_asset_keys(),
                  key=lambda k: (GROUP_ORDER.index(graph.get(k).group_name), k.to_user_string()))
    for key in keys:
        node = graph.get(key)
        step = step_of.get(key) or node.assets_def.node_def.name
        lines.append(f"{node.group_name:<12} {key.to_user_string():<40} [{step}]")
        lines += [f"    <- {parent.to_user_string()}" for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string())]
        lines += [f"    check {check}" for check in sorted(checks.get(key, []))]
    # the in-process executor takes the ready step of highest priority first (default 0)
    late = sorted((node.name, node.definition.tags[PRIORITY_TAG]) for node in job.nodes
                  if PRIORITY_TAG in node.definition.tags)
    lines += ["", "# steps with a priority (dagster/priority; the ready step of highest priority runs first, default 0)"]
    lines += [f"step {name:<38} priority {priority}" for name, priority in late]
    return "\n".join(lines) + "\n"


def test_definitions_load_with_every_layer_and_one_job():
    dg.Definitions.validate_loadable(defs)
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert {key.path[0] for key in keys} == {"raw", "staging", "reference", "intermediate", "indicators", "reports",
                                             "publish"}
    names = {key.path[-1] for key in keys}
    assert {"raw_patients", "stg_drugs", "stg_quarantine", "ind_mm01", "ind_mm12", "rpt_patient_results",
            "published"} <= names
    job = defs.resolve_job_def("audit_job")
    assert job.executor_def.name == "in_process"
    assert [j.name for j in defs.jobs] == ["audit_job"]


def test_the_asset_graph_is_the_snapshot():
    described = describe_graph(defs)
    if os.environ.get("MYELOMA_AUDIT_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(described, encoding="utf-8")
    assert described == SNAPSHOT.read_text(encoding="utf-8"), (
        "the asset graph changed: review the difference and, if intended, rewrite tests/snapshots/asset_graph.txt "
        "with MYELOMA_AUDIT_UPDATE_SNAPSHOTS=1")


def test_publishing_comes_after_every_other_asset():
    graph = defs.resolve_asset_graph()
    others = set(graph.get_all_asset_keys()) - {PUBLISHED_KEY}
    assert graph.get_ancestor_asset_keys(PUBLISHED_KEY) == others


def test_every_resource_field_has_a_default_so_materialize_all_needs_no_configuration():
    job = defs.resolve_implicit_global_asset_job_def()
    assert dg.validate_run_config(job, {})


def test_an_asset_key_is_spelled_in_one_module_only():
    """``AssetKey([...])`` with a literal appears only in pipelines/asset_keys.py."""
    spelled = []
    for path in (REPO / "pipelines").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "AssetKey":
                if node.args and isinstance(node.args[0], (ast.List, ast.Tuple, ast.Constant)):
                    spelled.append(str(path.relative_to(REPO)))
            if isinstance(node, ast.keyword) and node.arg == "key" and isinstance(node.value, (ast.List, ast.Tuple)):
                spelled.append(str(path.relative_to(REPO)))
    assert set(spelled) <= {"pipelines/asset_keys.py"}, spelled


def _import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in (REPO / "pipelines").rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path

    def known(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            found |= {known(t) for t in targets if t.startswith("pipelines")} - {"", name}
        graph[name] = found
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_in_the_package():
    """No module imports, directly or through others, a module that imports it back — deferred
    imports inside functions count too (issue 14: audit → definitions → operations → audit,
    cli ↔ operations/commands, lib/errors ↔ lib/pseudonym, reports/html ↔ reports/templates)."""
    assert _cycles(_import_graph()) == []


LAYERS = ("lib", "ingest", "quality", "indicators", "reports", "operations")


def test_layers_import_only_layers_below_them():
    """lib → ingest → quality → indicators → reports → operations: a layer never imports one above it."""
    def layer(module: str) -> int | None:
        parts = module.split(".")
        return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None

    upward = sorted((m, t) for m, targets in _import_graph().items() for t in targets
                    if layer(m) is not None and layer(t) is not None and layer(t) > layer(m))
    assert upward == []


def test_the_import_graph_is_read():
    graph = _import_graph()
    assert "pipelines.lib.sql_loader" in graph["pipelines.indicators.build"]
    assert "pipelines.audit" in graph["pipelines.cli"]  # imported inside a function
