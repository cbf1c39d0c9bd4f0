"""Package-wide rules: the layer order, cheap imports, and Python 3.9 compatibility."""
from __future__ import annotations

import ast
import glob
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "tinybpf"

# Each layer may import only itself and the layers before it (STYLE.md).
LAYERS = [
    {"_lazy", "errors", "kernel"},
    {"asm", "btf", "elf", "spec"},
    {"codecs", "maps", "programs", "program_dump", "links", "events", "symbols", "features", "objects"},
    {"backend"},
    {"cc", "trace"},
    {"bcc", "modules", "manager"},
    {"cli", "__main__"},
]
TOP = {"__init__"}
# The trace compiler's stages, in pipeline order; ``compiler`` (the pipeline) sits on top of them all.
TRACE_STAGES = [{"syntax"}, {"semantics"}, {"lower"}, {"runtime"}, {"compiler", "__init__"}]


def _layer(part: str) -> int:
    for index, names in enumerate(LAYERS):
        if part in names:
            return index
    raise AssertionError(f"tinybpf.{part} is in no layer: add it to LAYERS in {__file__}")


def _module_part(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0][:-3] if rel[0].endswith(".py") else rel[0]


def _imports(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(("tinybpf", *path.relative_to(SRC).parts[:-1]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("tinybpf")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("tinybpf"):
                found.append(name)
    return found


def test_lower_layers_never_import_higher_ones() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        part = _module_part(path)
        if part in TOP:
            continue
        for name in _imports(path):
            target = name.split(".")[1] if "." in name else "__init__"
            if target in TOP:
                continue
            if _layer(target) > _layer(part):
                wrong.append(f"{path.relative_to(SRC)} imports {name}")
    assert not wrong, "\n".join(wrong)


def _module_name(path: pathlib.Path) -> str:
    return ".".join(("tinybpf", *path.relative_to(SRC).with_suffix("").parts)).replace(".__init__", "")


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (lazy imports too); ``from pkg import mod`` names the module."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            targets.add(imported)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tinybpf"):
                targets.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    graph = _import_graph()
    graph = {name: {t for t in targets if not _is_package_of(t, name)} for name, targets in graph.items()}
    cycles = _cycles(graph)
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def _is_package_of(package: str, module: str) -> bool:
    """``tinybpf.trace`` is the package of ``tinybpf.trace.compiler``: importing a submodule runs its package."""
    return module.startswith(package + ".") and (SRC.parent / package.replace(".", "/") / "__init__.py").exists()


def test_trace_stages_import_only_earlier_stages() -> None:
    def stage(name: str) -> int:
        part = name.split(".")[2] if name.count(".") >= 2 else "__init__"
        return next(i for i, names in enumerate(TRACE_STAGES) if part in names)

    wrong = [
        f"{name} imports {target}"
        for name, targets in _import_graph().items() if name.startswith("tinybpf.trace.")
        for target in targets if target.startswith("tinybpf.trace.") and stage(target) > stage(name)
    ]
    assert not wrong, "\n".join(sorted(wrong))


def test_only_the_kernel_layer_calls_into_libc() -> None:
    users = [
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
        if "CDLL(" in p.read_text() and _module_part(p) != "kernel"
    ]
    assert not users


def test_importing_tinybpf_imports_nothing_else() -> None:
    code = "import sys, tinybpf; print(sorted(m for m in sys.modules if m.startswith('tinybpf')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['tinybpf', 'tinybpf._lazy']"


def _python39() -> str:
    """A working Python 3.9 interpreter (pyenv shims exist without one), or ''."""
    candidates = [shutil.which("python3.9") or "", *glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9"))]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return ""


def test_every_module_imports_on_python_3_9() -> None:
    python39 = _python39()
    if not python39:
        pytest.skip("no Python 3.9 interpreter here; the package promises Python >= 3.9")
    modules = sorted(
        ".".join(("tinybpf", *p.relative_to(SRC).with_suffix("").parts)).replace(".__init__", "")
        for p in SRC.rglob("*.py") if p.name != "__main__.py"
    )
    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
    env = {**os.environ, "PYTHONPATH": str(SRC.parent)}
    proc = subprocess.run([python39, "-c", code, *modules], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
