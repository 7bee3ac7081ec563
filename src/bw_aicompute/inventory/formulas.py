"""Formulas of parameters and exchanges: the names they use, their evaluation order, their
evaluation (numbers or numpy arrays) and renaming a parameter to a value.

Formulas are evaluated with Brightway's own interpreter (the asteval interpreter that
`bw2data.parameters` uses), so amounts written equal what `bw2data.parameters.recalculate()`
gives.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Mapping
from typing import Any

from ..errors import AicomputeError


def interpreter():
    """A fresh formula interpreter of bw2data (asteval with numpy functions)."""
    from bw2data.parameters import get_interpreter

    return get_interpreter()


def formula_names(formula: str) -> set[str]:
    """Names used in a formula (parameters and functions such as `sqrt`); empty if it does not
    parse."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


class FormulaEvaluator:
    """One interpreter for many formulas over the same symbols (creating one is slow).

    Parameters
    ----------
    symbols : mapping
        Parameter values, numbers or numpy arrays (all of one length).
    """

    def __init__(self, symbols: Mapping[str, Any]):
        self.interp = interpreter()
        self.interp.symtable.update(symbols)

    def __call__(self, formula: str):
        """The value of `formula`; raises ValueError with the interpreter's message."""
        self.interp.error = []
        value = self.interp(formula)
        if self.interp.error:
            msg = self.interp.error[0].get_error()
            raise ValueError(f"{msg[0]}: {msg[1]}")
        return value

    def set(self, name: str, value: Any) -> None:
        """Set one symbol."""
        self.interp.symtable[name] = value


def evaluate_formula(formula: str, symbols: Mapping[str, Any]):
    """Evaluate one formula with the given parameter values (numbers or numpy arrays)."""
    return FormulaEvaluator(symbols)(formula)


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
        except Exception as exc:  # asteval reports any error of the formula
            raise AicomputeError(f"database {where!r}: parameters cannot be evaluated: {name} = {formulas[name]}: {exc}") from None
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
