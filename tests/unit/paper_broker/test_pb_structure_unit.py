"""The paper broker's shape, read from its source: no import circle, Kite's words in one place.

Every import of a paper broker module by another counts, wherever it stands: at module level,
inside a function, and inside `if TYPE_CHECKING:` blocks too. A circle that only the type
checker sees is still two modules that cannot be understood, tested or changed one without the
other, so the test is stricter than what Python itself needs to import the package.

Kite's order types, varieties, validities, sides, products and exchanges are spelled out only in
`kite_enums.py`; everywhere else they are members of its enums. A bare string of that
vocabulary anywhere else is a finding, in a comparison, a set or an argument alike, except as a
mapping key (`meta["iceberg"]` names a field, not a variety).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import paper_broker
from paper_broker import kite_enums

PACKAGE = Path(paper_broker.__file__).parent


def module_name(path: Path) -> str:
    """`engine` for engine.py, `routes.gtt` for routes/gtt.py, `routes` for routes/__init__.py."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _package_of(module: str) -> list[str]:
    parts = module.split(".") if module else []
    return parts if MODULES[module].name == "__init__.py" else parts[:-1]


def _targets(module: str, node: ast.ImportFrom) -> Iterator[str]:
    if node.level:
        package = _package_of(module)
        base = package[: len(package) - node.level + 1]
        target = ".".join([*base, *([node.module] if node.module else [])])
    elif node.module is not None and node.module.split(".")[0] == "paper_broker":
        target = node.module.removeprefix("paper_broker").removeprefix(".")
    else:
        return
    if target in MODULES and target:
        yield target
    for alias in node.names:
        submodule = f"{target}.{alias.name}" if target else alias.name
        if submodule in MODULES:
            yield submodule


def imports_in(module: str, source: str) -> set[str]:
    """The package's modules that `source`, the text of `module`, imports anywhere."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            found.update(_targets(module, node))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name.removeprefix("paper_broker.")
                if alias.name.startswith("paper_broker.") and name in MODULES:
                    found.add(name)
    found.discard(module)
    return found


def import_graph() -> dict[str, set[str]]:
    return {name: imports_in(name, path.read_text()) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph as a path that ends where it starts, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for successor in sorted(graph[node]):
            cycle = visit(successor)
            if cycle is not None:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle is not None:
            return cycle
    return None


SAMPLE = """
from typing import TYPE_CHECKING

import paper_broker.clock
from paper_broker.errors import InputError

from ..orders import Order
from .guard import Call

if TYPE_CHECKING:
    from ..engine import Exchange


def late() -> None:
    from .. import wire
"""


def test_the_import_reader_sees_every_kind_of_import_of_the_package() -> None:
    found = imports_in("routes.gtt", SAMPLE)

    assert found == {"clock", "errors", "orders", "routes.guard", "engine", "wire"}


def test_a_circle_is_reported_as_the_path_around_it() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_two_modules_of_the_paper_broker_import_each_other_even_indirectly() -> None:
    assert find_cycle(import_graph()) is None


VOCABULARY = frozenset(
    member.value
    for vocabulary in (
        kite_enums.OrderType,
        kite_enums.Variety,
        kite_enums.Validity,
        kite_enums.TransactionType,
        kite_enums.Product,
        kite_enums.ExchangeCode,
    )
    for member in vocabulary
)


def _mapping_keys(tree: ast.AST) -> set[int]:
    """The nodes that name a key: of a dict display, a subscript, `.get`, `.pop`, `.setdefault`."""
    keys: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys.update(id(key) for key in node.keys if key is not None)
        elif isinstance(node, ast.Subscript):
            keys.add(id(node.slice))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"get", "pop", "setdefault"}
            and node.args
        ):
            keys.add(id(node.args[0]))
    return keys


def bare_words(source: str) -> list[tuple[int, str]]:
    """(line, word) of every string constant of Kite's vocabulary that is not a mapping key."""
    tree = ast.parse(source)
    keys = _mapping_keys(tree)
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in VOCABULARY
        and id(node) not in keys
    )


def test_the_vocabulary_reader_finds_words_in_comparisons_sets_and_arguments() -> None:
    source = """
if order.variety == "co" or state.order_type in {"MARKET", "SL-M"}:
    place(validity="DAY")
iceberg = order.meta.get("iceberg") or order.meta["iceberg"]
view = {"iceberg": 1, "message": "MARKET orders are refused"}
"""

    assert bare_words(source) == [(2, "MARKET"), (2, "SL-M"), (2, "co"), (3, "DAY")]


def test_only_kite_enums_spells_out_kites_vocabulary() -> None:
    found = {
        name: words
        for name, path in MODULES.items()
        if name != "kite_enums" and (words := bare_words(path.read_text()))
    }

    assert found == {}
