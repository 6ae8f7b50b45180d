"""One-way layers: tui | bench > assistant > finetune > lm > index, each importing only downward,
and no import cycle between modules. Read from the source (every import, lazy ones included)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"core": 0, "index": 1, "lm": 2, "finetune": 3, "assistant": 4, "tui": 5, "bench": 5}
"""A package may import packages of a lower number only (and itself)."""


def modules() -> dict[str, Path]:
    """Every module of the project's packages: 'assistant.cli.index' → its file."""
    found = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(name: str, path: Path, top_level_only: bool = False) -> set[str]:
    """The project modules `name` imports (relative imports resolved); with `top_level_only`, only
    those run when the module itself is imported (not inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return {m for m in found if m.split(".")[0] in LAYERS}


def test_each_layer_imports_only_the_layers_below_it():
    upward = []
    for name, path in modules().items():
        layer = LAYERS[name.split(".")[0]]
        for imported in imports(name, path):
            target = imported.split(".")[0]
            if target != name.split(".")[0] and LAYERS[target] >= layer:
                upward.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not upward, "imports that go up or sideways:\n" + "\n".join(sorted(upward))


def test_no_import_cycle_between_modules():
    known = modules()
    graph = {name: {m for m in imports(name, path, top_level_only=True) if m in known and m != name}
             for name, path in known.items()}
    # A package's __init__ importing its own modules is how packages are made, not a cycle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not (name in known and known[name].name == "__init__.py"
                                                      and m.startswith(name + "."))}
    state, cycles = {}, []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" → ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
