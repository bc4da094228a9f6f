"""skae's modules import downwards only: no cycle, and no import inside a function mends one."""

import ast
import pathlib

import skae

PACKAGE = pathlib.Path(skae.__file__).parent

# Imports inside functions kept for start-up time: TensorFlow and matplotlib
# are imported only when an estimator or a figure is asked for.
LAZY = {"__init__", "_quiet", "plotting", "inspection"}


def skae_imports(tree, module):
    """The skae modules that the statements of ``tree`` import, by name."""
    found = set()
    for node in tree:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "skae":
            found.add(node.module.split(".")[1] if "." in node.module else "__init__")
        elif isinstance(node, ast.Import):
            found.update("__init__" for alias in node.names if alias.name == "skae")
    return found - {module}


def modules():
    return {path.stem: ast.parse(path.read_text()) for path in PACKAGE.glob("*.py")}


def test_the_modules_import_one_another_without_a_cycle():
    graph = {name: skae_imports(tree.body, name) & set(modules()) for name, tree in modules().items()}
    graph["__init__"] = set()  # it imports its modules lazily, by name

    def visit(name, path):
        assert name not in path, f"an import cycle: {' -> '.join([*path, name])}"
        for imported in graph[name]:
            visit(imported, [*path, name])

    for name in graph:
        visit(name, [])


def test_no_module_imports_another_of_skae_inside_a_function():
    for name, tree in modules().items():
        if name in LAZY:
            continue
        inner = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        imported = set().union(*(skae_imports(ast.walk(function), name) for function in inner))
        assert not imported, f"skae.{name} imports {sorted(imported)} inside a function"
