"""The package contracts of docs/architecture.md hold, and name every module they should."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _contracts() -> list[dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in result.stdout


def test_the_code_location_contract_names_every_module_outside_the_driver() -> None:
    (location,) = [c for c in _contracts() if "pipelines.driver" in c["forbidden_modules"]]
    top = {
        f"pipelines.{p.stem if p.is_file() else p.name}"
        for p in (REPO / "pipelines").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert top - {"pipelines.driver"} == set(location["source_modules"])


ROOTS = {
    "btc": "btc.errors.BtcError",
    "drey": "drey.errors.ProtocolError",
    "indexer": "indexer.errors.IndexerError",
    "devnet": "devnet.errors.DevnetError",
    "pipelines": "pipelines.errors.PipelinesError",
}


# Exceptions that are deliberately outside their package's root, and why.
OUTSIDE_ROOT = {
    # The reply to a JSON-RPC client; the handlers that map DevnetError to replies must not
    # catch it.
    "devnet.node.methods.JSONRPCError",
}


def _exceptions(package: str) -> list[type[BaseException]]:
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        if path.name == "__main__.py":  # runs its CLI on import
            continue
        module_name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        module = importlib.import_module(module_name.removesuffix(".__init__"))
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_every_error_derives_from_its_package_root() -> None:
    """One root per package (its errors.py), so a caller can catch a package's errors in one
    clause; module-private signals (a leading underscore) are exempt."""
    strays = []
    for package, root_path in ROOTS.items():
        module_name, _, root_name = root_path.rpartition(".")
        root = getattr(importlib.import_module(module_name), root_name)
        for exc in _exceptions(package):
            name = f"{exc.__module__}.{exc.__name__}"
            if name in OUTSIDE_ROOT or exc.__name__.startswith("_"):
                continue
            if not issubclass(exc, root):
                strays.append(f"{name} (root: {root_name})")
    assert strays == []


# A function longer than this (docstring not counted) says why on the line above its def.
MAX_FUNCTION_LINES = 85
LONG_REASON = "# Long on purpose:"
PACKAGES = ("btc", "drey", "indexer", "devnet", "pipelines", "native")


def long_functions(source: str, path: str) -> list[str]:
    """The functions of ``source`` over the limit with no reason above them."""
    import ast

    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = node.end_lineno - node.lineno + 1
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            length -= first.end_lineno - first.lineno + 1
        if length <= MAX_FUNCTION_LINES:
            continue
        top = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        above = []
        while top > 0 and lines[top - 1].lstrip().startswith("#"):
            top -= 1
            above.append(lines[top].strip())
        if not any(c.startswith(LONG_REASON) for c in above):
            found.append(f"{path}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_long_functions_say_why() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            found += long_functions(path.read_text(), str(path.relative_to(REPO)))
    assert found == [], "\n".join(found)


def test_a_long_function_without_a_reason_is_found() -> None:
    body = "".join(f"    x = {i}\n" for i in range(MAX_FUNCTION_LINES + 1))
    source = f"def long():\n{body}\n\n{LONG_REASON} a table.\ndef table():\n{body}"
    assert long_functions(source, "m.py") == [f"m.py:1 long ({MAX_FUNCTION_LINES + 2} lines)"]
