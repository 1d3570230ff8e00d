"""Prints a Modal app file's settings as JSON without importing modal (CI has no Modal client).

constants: the module-level assignments whose value is a Python literal.
functions: per top-level function, its decorators (by their dotted name) and their keyword arguments; a keyword
given as the name of a constant gets the constant's value, anything else that is not a literal is null.
"""

import ast
import json
import sys


def main(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError):
                pass

    def value(expr):
        if isinstance(expr, ast.Name) and expr.id in constants:
            return constants[expr.id]
        try:
            return ast.literal_eval(expr)
        except (ValueError, TypeError, SyntaxError):
            return None

    functions = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            decorators = {}
            for d in node.decorator_list:
                call = d if isinstance(d, ast.Call) else None
                name = ast.unparse(call.func if call else d)
                decorators[name] = {k.arg: value(k.value) for k in call.keywords if k.arg} if call else {}
            functions[node.name] = decorators
    print(json.dumps({"constants": constants, "functions": functions}))


if __name__ == "__main__":
    main(sys.argv[1])
