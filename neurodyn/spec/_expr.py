"""Safe arithmetic for derived sweep axes, e.g. `learning_rate = "= 0.01 * gamma"`."""

import ast
import math
import operator

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {
    "sqrt": math.sqrt,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "float": float,
    "round": round,
}


def names_in(expression: str) -> set[str]:
    """The variable names an expression refers to (dotted names kept whole)."""
    tree = _parse(expression)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            out.add(_dotted(node))
        elif isinstance(node, ast.Name) and node.id not in _FUNCTIONS:
            out.add(node.id)
    # drop the bare prefixes of dotted names ("model" of "model.gamma")
    prefixes = {n.split(".")[0] for n in out if "." in n}
    return {n for n in out if n not in prefixes or "." in n}


def evaluate(expression: str, variables: dict) -> float:
    """Evaluate `expression` with `variables`; only arithmetic and a few math functions."""
    return _eval(_parse(expression).body, variables, expression)


def _parse(expression: str) -> ast.Expression:
    try:
        return ast.parse(expression.strip(), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"cannot parse the expression {expression!r}: {err.msg}.") from None


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return _dotted(node.value) + "." + node.attr
    if isinstance(node, ast.Name):
        return node.id
    raise ValueError("only names like `gamma` or `model.gamma` may be used in expressions")


def _eval(node, variables, text):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted(node)
        if name not in variables:
            raise ValueError(
                f"the expression {text!r} uses {name!r}, which is not a parameter of this sweep; "
                f"available: {sorted(variables)}."
            )
        return variables[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval(node.left, variables, text), _eval(node.right, variables, text))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, variables, text))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
        return _FUNCTIONS[node.func.id](*[_eval(a, variables, text) for a in node.args])
    raise ValueError(
        f"the expression {text!r} may only use numbers, parameter names, + - * / ** % and "
        f"{sorted(_FUNCTIONS)}."
    )
