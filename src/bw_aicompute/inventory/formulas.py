"""Formulas of parameters and exchanges: the names they use, their evaluation order, their
evaluation (numbers or numpy arrays) and renaming a parameter to a value.

Formulas are plain arithmetic over parameter names, `pi` and a few math functions, checked on their
syntax tree and evaluated by this module: no `open`, no attribute access, no comprehension
(Brightway's own interpreter, asteval, allows those), and a bounded size. Python's arithmetic on
the same numbers gives what `bw2data.parameters.recalculate()` gives for the same formulas.
"""

from __future__ import annotations

import ast
import functools
import graphlib
import operator
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import AicomputeError

#: Functions a formula may call (numpy's, so that they work on arrays of samples too).
FUNCTIONS = {
    "abs": np.abs,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "log10": np.log10,
    "min": np.minimum,
    "max": np.maximum,
}
#: Constants a formula may name.
CONSTANTS = {"pi": float(np.pi)}
MAX_LENGTH = 1000  # characters of a formula
MAX_NODES = 200  # elements of its syntax tree
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
    ast.FloorDiv: operator.floordiv,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class FormulaError(ValueError):
    """A formula that is not plain arithmetic over parameters, or that cannot be evaluated."""


class ParameterError(AicomputeError):
    """A parameter whose formula cannot be evaluated (`name`)."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(message)


def formula_names(formula: str) -> set[str]:
    """Names used in a formula (parameters and functions such as `sqrt`); empty if it does not
    parse."""
    return set(_names(formula))


@functools.lru_cache(maxsize=65536)
def _names(formula: str) -> frozenset[str]:
    """`formula_names`, parsed once per formula (a 10,000-phase campaign repeats its formulas)."""
    try:
        tree = ast.parse(formula, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    return frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))


def _allowed(node: ast.AST) -> bool:
    if isinstance(node, ast.Expression | ast.Load | ast.BinOp | ast.UnaryOp | ast.Name) or type(node) in _OPERATORS or type(node) in _UNARY:
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and not node.keywords


@functools.lru_cache(maxsize=4096)
def parse(formula: str) -> ast.Expression:
    """The syntax tree of a formula, checked: at most MAX_LENGTH characters and MAX_NODES
    elements; numbers, parameter names, + - * / ** % //, and the functions of FUNCTIONS only (no
    attribute, subscript, comprehension, lambda, string or file access)."""
    if len(formula) > MAX_LENGTH:
        raise FormulaError(f"a formula has at most {MAX_LENGTH} characters, this one {len(formula)}")
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise FormulaError("is not a valid formula") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise FormulaError(f"a formula has at most {MAX_NODES} elements, this one {len(nodes)}")
    for node in nodes:
        if not _allowed(node):
            what = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
            raise FormulaError(f"only arithmetic, parameter names and the functions {', '.join(FUNCTIONS)} are allowed, not {what[:60]!r}")
    return tree


def _evaluate(node: ast.AST, symbols: Mapping[str, Any]):
    if isinstance(node, ast.Constant):
        return float(node.value) if isinstance(node.value, int) and abs(node.value) > 2**53 else node.value
    if isinstance(node, ast.Name):
        if node.id in symbols:
            return symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise FormulaError(f"name {node.id!r} is not defined")
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, symbols), _evaluate(node.right, symbols)
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int):
            left = float(left)  # no exact big-integer powers (9 ** 9 ** 9)
        return _OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, symbols))
    args = [_evaluate(a, symbols) for a in node.args]
    if not args:
        raise FormulaError(f"{node.func.id}() needs an argument")
    return functools.reduce(FUNCTIONS[node.func.id], args) if node.func.id in ("min", "max") else FUNCTIONS[node.func.id](*args)


def evaluate_checked(formula: str, symbols: Mapping[str, Any]):
    """The value of a formula: a float, or an array where parameters are arrays of samples.

    Raises FormulaError for a formula that is not allowed, a missing name, or a result that is
    not finite (an overflow, a division by zero)."""
    tree = parse(formula)
    try:
        with np.errstate(all="raise"):
            value = _evaluate(tree.body, symbols)
    except (ArithmeticError, FloatingPointError, TypeError, ValueError) as exc:
        raise FormulaError(f"cannot be evaluated ({type(exc).__name__}: {exc})") from None
    if isinstance(value, int):
        value = float(value)
    if not np.all(np.isfinite(value)):
        raise FormulaError("cannot be evaluated (the result is not a finite number)")
    return value


class FormulaEvaluator:
    """Evaluates many formulas over the same symbols (see `evaluate_checked`).

    Parameters
    ----------
    symbols : mapping
        Parameter values, numbers or numpy arrays (all of one length).
    """

    def __init__(self, symbols: Mapping[str, Any]):
        self.symbols = dict(symbols)

    def __call__(self, formula: str):
        """The value of `formula`; raises FormulaError (a ValueError)."""
        return evaluate_checked(formula, self.symbols)

    def set(self, name: str, value: Any) -> None:
        """Set one symbol."""
        self.symbols[name] = value


_NUMBER = "__number_{}"  # the names of a template's numbers (not a parameter name: `lift_numbers`)


@functools.lru_cache(maxsize=65536)
def lift_numbers(formula: str) -> tuple[str, tuple[float, ...]]:
    """`formula` with its numbers replaced by names (its template) and those numbers, as floats:
    formulas that differ only in their numbers (10,000 phases' GPU-hours times one expression
    of parameters) share a template. A formula that does not parse is its own template."""
    try:
        parse(formula)  # checked; its tree is cached and shared, so a fresh one is changed
    except FormulaError:
        return formula, ()
    tree = ast.parse(formula.strip(), mode="eval")
    numbers: list[float] = []

    class Lift(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            numbers.append(float(node.value))
            return ast.Name(id=_NUMBER.format(len(numbers) - 1), ctx=ast.Load())

    return ast.unparse(Lift().visit(tree)), tuple(numbers)


def evaluate_many(formulas: list[str], symbols: Mapping[str, Any], iterations: int) -> np.ndarray:
    """(formulas, iterations) values of `formulas` over the same symbols (`evaluate_checked`;
    arrays of samples of length `iterations`), each template (`lift_numbers`) evaluated once
    for all its formulas with their numbers as arrays; a template whose evaluation fails is
    evaluated formula by formula (the error names the one that fails)."""
    groups: dict[str, list[int]] = {}
    lifted = [lift_numbers(f) for f in formulas]
    for k, (template, _) in enumerate(lifted):
        groups.setdefault(template, []).append(k)
    out = np.empty((len(formulas), iterations))
    evaluate = FormulaEvaluator(symbols)
    rank = max((np.ndim(v) for v in symbols.values()), default=0)  # 1: arrays of samples
    for template, at in groups.items():
        if len(at) > 1 and lifted[at[0]][1]:
            numbers = np.array([lifted[k][1] for k in at])  # (formulas, numbers)
            for i in range(numbers.shape[1]):
                evaluate.set(_NUMBER.format(i), numbers[:, i].reshape(-1, *([1] * rank)))
            try:
                values = np.asarray(evaluate(template), dtype=float)
            except FormulaError:
                values = None
            if values is not None:
                out[at] = values.reshape(len(at), -1) if values.ndim else values
                continue
        for k in at:
            out[k] = evaluate(formulas[k])
    return out


def evaluation_order(formulas: Mapping[str, str], where: str) -> list[str]:
    """Names of formula parameters in an order in which each follows those it uses.

    Raises an error naming the parameters of a cycle (`where`: the database, for the message).
    """
    graph = {name: formula_names(f) & set(formulas) - {name} for name, f in formulas.items()}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AicomputeError(f"{where}: circular parameter formulas: {sorted(set(exc.args[1]))}") from None


def evaluate_parameters(values: dict[str, Any], formulas: Mapping[str, str], where: str) -> dict[str, Any]:
    """Evaluate formula parameters in dependency order, in place of `values`, and return it.

    Parameters
    ----------
    values : dict
        Values of the parameters that are numbers (numbers or arrays); formula parameters are
        added.
    formulas : mapping
        Parameter name -> formula.
    where : str
        The database, for error messages.
    """
    evaluate = FormulaEvaluator(values)
    for name in evaluation_order(formulas, where):
        try:
            values[name] = evaluate(formulas[name])
        except FormulaError as exc:
            raise ParameterError(name, f"database {where!r}: parameters cannot be evaluated: {name} = {formulas[name]}: {exc}") from None
        evaluate.set(name, values[name])
    return values


class _Rename(ast.NodeTransformer):
    def __init__(self, values: Mapping[str, float]):
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.values:
            return ast.copy_location(ast.Constant(float(self.values[node.id])), node)
        return node


def with_values(formula: str, values: Mapping[str, float]) -> str:
    """`formula` with some parameter names replaced by numbers (`hw_lifetime_years` -> `4.0`):
    how a campaign's input overrides a parameter in a template formula."""
    if not formula_names(formula) & set(values):
        return formula
    return ast.unparse(_Rename(values).visit(ast.parse(formula, mode="eval")))
