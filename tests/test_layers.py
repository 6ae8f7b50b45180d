"""One-way layers: tui | bench | recipes > assistant > finetune > lm > index > core, each importing
only downward; no import cycle between modules, function-level imports included; imports inside
functions only where they keep a heavy package or a command's start-up lazy; benchmarks on public
names only. Read from the source, every import statement of every module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"core": 0, "index": 1, "lm": 2, "finetune": 3, "assistant": 4, "tui": 5, "bench": 5, "recipes": 5}
"""A package may import packages of a lower number only (and itself)."""
FRONT_ENDS = ("assistant/cli/", "tui/", "bench/", "recipes/")
"""Where imports inside functions are how a command starts fast; elsewhere they need a reason."""
LAZY = "# lazy:"
"""The comment a library import inside a function carries, saying which cost it defers."""


def modules(root: Path = ROOT, packages=LAYERS) -> dict[str, Path]:
    """Every module of the project's packages: 'assistant.cli.indexing' → its file."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Ids of the import nodes under `if TYPE_CHECKING:`, which never run."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def import_nodes(path: Path):
    """(node, inside a function) for every import statement that runs in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    in_function = {id(n) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(fn)}
    return [(node, id(node) in in_function) for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skipped]


def imported(name: str, path: Path, node, packages=LAYERS) -> set[str]:
    """The project modules one import statement of module `name` names (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    if isinstance(node, ast.Import):
        found |= {alias.name for alias in node.names}
    else:
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        found.add(module)
        found |= {f"{module}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return {m for m in found if m.split(".")[0] in packages}


def imports(name: str, path: Path, packages=LAYERS) -> set[str]:
    """Every project module `name` imports, at the top or inside functions."""
    return {m for node, _ in import_nodes(path) for m in imported(name, path, node, packages)}


def cycles(known: dict[str, Path], packages=LAYERS) -> list[str]:
    """Import cycles between the modules of `known`, each as 'a → b → a'."""
    graph = {name: {m for m in imports(name, path, packages) if m in known and m != name}
             for name, path in known.items()}
    # A package's __init__ importing its own modules is how packages are made, not a cycle.
    for name in graph:
        if known[name].name == "__init__.py":
            graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    state, found = {}, []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(" → ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


def test_each_layer_imports_only_the_layers_below_it():
    upward = []
    for name, path in modules().items():
        layer = LAYERS[name.split(".")[0]]
        for target in imports(name, path):
            package = target.split(".")[0]
            if package != name.split(".")[0] and LAYERS[package] >= layer:
                upward.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not upward, "imports that go up or sideways:\n" + "\n".join(sorted(upward))


def test_no_import_cycle_between_modules():
    found = cycles(modules())
    assert not found, "import cycles:\n" + "\n".join(found)


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path):
    """The check reads function-level imports: a cycle hidden in one is reported."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from .b import helper\n")
    (tmp_path / "pkg" / "b.py").write_text("def helper():\n    from pkg.a import thing  # the bad import\n")
    (tmp_path / "pkg" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n")
    known = modules(tmp_path, {"pkg": 0})
    assert cycles(known, {"pkg": 0}) == ["pkg.a → pkg.b → pkg.a"]
    (tmp_path / "pkg" / "b.py").write_text("def helper():\n    pass\n")
    assert cycles(modules(tmp_path, {"pkg": 0}), {"pkg": 0}) == []  # and type-only imports are no cycle


def test_library_imports_inside_functions_say_what_they_defer():
    unexplained = []
    for name, path in modules().items():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(FRONT_ENDS):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, in_function in import_nodes(path):
            if in_function and imported(name, path, node) and LAZY not in lines[node.lineno - 1]:
                unexplained.append(f"{relative}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not unexplained, (f"project imports inside functions, without a '{LAZY} <what it defers>' comment "
                             "(import at the top instead):\n" + "\n".join(unexplained))


def private_uses(path: Path) -> list[str]:
    """Private library names a module reaches: imported (`from index.x import _y`, `index.loaders._common`)
    or read off a library object (`retriever._hit`). `self._x` and NamedTuple's `_asdict` are fine."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in LAYERS and node.module.split(".")[0] != "bench":
            private = [a.name for a in node.names if a.name.startswith("_")]
            if any(part.startswith("_") for part in node.module.split(".")) or private:
                found.append(f"{path.name}:{node.lineno}: from {node.module} import {', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls", "_report"):
                continue
            if node.attr in ("_asdict", "_replace", "_fields"):
                continue
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return found


def test_benchmarks_use_public_library_names_only():
    found = [use for path in sorted((ROOT / "bench").glob("*.py")) for use in private_uses(path)]
    assert not found, "benchmarks reaching into private library names:\n" + "\n".join(found)


def test_the_private_name_check_sees_both_kinds_of_reach(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from index.build import _settings\nhits = retriever._hit(1)\nself._x = row._asdict()\n")
    assert private_uses(bad) == ["bad.py:1: from index.build import _settings", "bad.py:2: ._hit"]


def test_every_module_reads_in_one_sitting():
    """About 400 lines a module (STYLE.md): past that, a module holds more than one idea."""
    long = [f"{path.relative_to(ROOT)}: {n} lines" for path in modules().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400]
    assert not long, "modules over 400 lines:\n" + "\n".join(long)


def test_every_project_name_a_benchmark_or_recipe_imports_exists():
    """Benchmarks import inside their functions (they run one at a time); a renamed library name
    would break one only when it runs. Every `from <project module> import <name>` must resolve."""
    import importlib
    import importlib.util

    missing = []
    for package in ("bench", "recipes"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node, _ in import_nodes(path):
                if not isinstance(node, ast.ImportFrom) or node.level or (node.module or "").split(".")[0] not in LAYERS:
                    continue
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name) and importlib.util.find_spec(f"{node.module}.{alias.name}") is None:
                        missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}.{alias.name}")
    assert not missing, "names that no longer exist:\n" + "\n".join(missing)
