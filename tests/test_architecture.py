"""The house (DESIGN.md "Layout", issue 11): the source's own imports, read with `ast` (nothing
is imported). Imports inside functions count (a lazy import only hides a cycle); imports under
`if TYPE_CHECKING:` never run: they count for the library rules, not for cycles."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOT_MODULES = {
    "__init__", "app", "config", "database", "orm", "extensions", "errors", "health", "migrate",
    "models", "worker", "keys", "secret_box", "strict_json",
}  # fmt: skip
AREAS = {
    "lti", "sandbox", "frameworks", "assessment", "credentials", "learning_records", "commands",
    "wallets",
}  # fmt: skip
LMS = ("lms_plugin.lti", "lms_plugin.sandbox", "lms_plugin.assessment", "lms_plugin.frameworks")
GLUE = ("lms_plugin.learning_records", "lms_plugin.commands", "lms_plugin.app", "lms_plugin.worker")
FLASK = ("flask", "flask_wtf", "werkzeug")


class Edge(NamedTuple):
    source: str
    target: str
    where: str  # path:line
    type_checking: bool

    def __str__(self) -> str:
        return f"{self.where} imports {self.target}" + " (TYPE_CHECKING)" * self.type_checking


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for top in ("lms_plugin", "xapi") for p in (ROOT / top).rglob("*.py")}


def _resolve(name: str) -> str:
    """The longest prefix of `name` that is one of our modules (`pkg.mod.Class` -> `pkg.mod`)."""
    probe = name
    while probe and probe not in MODULES:
        probe = probe.rpartition(".")[0]
    return probe or name


def _walk(node: ast.AST, module: str, path: Path, tc: bool, out: list[Edge]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            _walk(ast.Module(child.body, []), module, path, True, out)
            _walk(ast.Module(child.orelse, []), module, path, tc, out)
            continue
        targets: list[str] = []
        if isinstance(child, ast.Import):
            targets = [alias.name for alias in child.names]
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                parts = package.split(".")[: len(package.split(".")) - child.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [f"{base}.{alias.name}" for alias in child.names]
        for target in dict.fromkeys(_resolve(t) for t in targets):
            if target != module:
                out.append(Edge(module, target, f"{path.relative_to(ROOT)}:{child.lineno}", tc))
        _walk(child, module, path, tc, out)


EDGES: list[Edge] = []
for _module, _path in MODULES.items():
    _walk(ast.parse(_path.read_text(encoding="utf-8")), _module, _path, False, EDGES)


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _area(module: str) -> str:
    """`lms_plugin.lti.views` -> `lms_plugin.lti`; a root module is an area of its own."""
    return "xapi" if module.startswith("xapi") else ".".join(module.split(".")[:2])


def _cycle(key) -> list[str]:
    """A shortest cycle of the runtime import graph (nodes mapped by `key`), one import a hop."""
    hops: dict[tuple[str, str], Edge] = {}
    for edge in EDGES:
        a, b = key(edge.source), key(edge.target)
        if not edge.type_checking and edge.target in MODULES and a not in (b, "lms_plugin"):
            hops.setdefault((a, b), edge)
    for start in sorted({a for a, _ in hops}):
        previous, queue = {start: start}, [start]
        while queue:
            node = queue.pop(0)
            for _a, b in sorted(h for h in hops if h[0] == node):
                if b == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    path = [*reversed(path), start]
                    return [str(hops[hop]) for hop in zip(path, path[1:], strict=False)]
                if b not in previous:
                    previous[b] = node
                    queue.append(b)
    return []


def test_the_walk_sees_the_code() -> None:
    assert {"lms_plugin.app", "xapi.statements"} <= MODULES.keys()
    assert any(edge.source == "lms_plugin.app" for edge in EDGES)


def test_no_import_cycle_between_modules() -> None:
    # `lms_plugin` itself (create_app's lazy import of app) is checked like any other module.
    cycle = _cycle(lambda m: m if m != "lms_plugin" else "lms_plugin.__init__")
    assert not cycle, "import cycle:\n" + "\n".join(cycle)


def test_no_import_cycle_between_areas() -> None:
    cycle = _cycle(_area)
    assert not cycle, "area cycle:\n" + "\n".join(cycle)


RULES = {
    "xapi imports nothing of lms_plugin but the ORM base, nor Flask": lambda e: (
        _under(e.source, ("xapi",))
        and _under(e.target, ("lms_plugin", *FLASK))
        and e.target != "lms_plugin.orm"
    ),
    "credentials import no LMS area nor the app's glue": lambda e: (
        _under(e.source, ("lms_plugin.credentials",))
        and (_under(e.target, LMS + GLUE) or e.target == "lms_plugin")
    ),
    "only wallets/views.py imports Flask in wallets": lambda e: (
        _under(e.source, ("lms_plugin.wallets",))
        and e.source != "lms_plugin.wallets.views"
        and _under(e.target, FLASK)
    ),
    "only credentials/views.py imports Flask in credentials": lambda e: (
        _under(e.source, ("lms_plugin.credentials",))
        and e.source != "lms_plugin.credentials.views"
        and _under(e.target, FLASK)
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_library_rule(rule: str) -> None:
    wrong = [str(edge) for edge in EDGES if RULES[rule](edge)]
    assert not wrong, rule + ":\n" + "\n".join(dict.fromkeys(wrong))


def test_package_root_holds_only_the_agreed_modules() -> None:
    package = ROOT / "lms_plugin"
    modules = {path.stem for path in package.glob("*.py")} - ROOT_MODULES
    areas = {p.name for p in package.iterdir() if p.is_dir() and any(p.rglob("*.py"))}
    assert not modules, f"modules outside the agreed list: {sorted(modules)}"
    assert not areas - AREAS, f"unexpected packages: {sorted(areas - AREAS)}"
    assert all((package / area / "__init__.py").is_file() for area in AREAS)
