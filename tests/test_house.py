"""The shape of the house: the library's imports form no cycle, and the workflow's scripts stay thin."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGE = ROOT / "analysis"


def _module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module → the ``analysis`` modules it imports (at top level or inside functions)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("analysis")}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analysis") and not node.level:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if sub in modules else node.module)
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search with colours)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_library_imports_have_no_cycle():
    graph = import_graph()
    assert "analysis.qc" in graph and "analysis.io.store" in graph["analysis.qc"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_lowest_modules_import_nothing_above_them():
    graph = import_graph()
    for low in ("analysis.units", "analysis.elements", "analysis.settings", "analysis.io.paths"):
        assert not graph[low] - {"analysis.units", "analysis.elements"}, (low, graph[low])
    assert not graph["analysis.io.errors"] - {"analysis.io.paths"}, graph["analysis.io.errors"]  # names archives as stored


def test_workflow_scripts_only_translate_snakemake_objects_into_a_library_call():
    scripts = sorted((ROOT / "workflow" / "scripts").glob("*.py"))
    assert scripts
    for script in scripts:
        lines = [line for line in script.read_text().splitlines() if line.strip()]
        assert len(lines) < 15, f"{script.name}: {len(lines)} lines"
        tree = ast.parse(script.read_text())
        assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While)) for n in ast.walk(tree)), script.name


def test_the_report_and_the_workflow_start_without_the_clustering_stack():
    """The report job and the Snakefile's job sizing import neither scikit-learn nor HDBSCAN (0.6 s of the report
    job's start, 1.5 s of every snakemake start, when they did), nor the readers' compiled parser (numba, 0.2 s);
    the clustering modules still do."""
    import json
    import subprocess
    import sys

    code = ("import json, sys; import analysis.report.build, analysis.workload, analysis.channel_size, analysis.surrogate.active; "
            "print(json.dumps(sorted(m for m in ('sklearn', 'hdbscan', 'numba') if m in sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(loaded.stdout) == []
    from analysis.channel_size import smallest_channel
    from analysis.cluster import HierarchicalClustering

    defaults = HierarchicalClustering().get_params()
    assert smallest_channel(1000) == smallest_channel(1000, defaults["min_cluster_size"], defaults["min_share"],
                                                      defaults["small_run_share"]) == 30
