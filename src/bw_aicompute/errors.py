"""Errors that the command line reports as one message and exit status 2, without a traceback.

`InputError` carries where a problem sits (file, line, sheet/row/column, field) as attributes;
its message is built from them, so that a caller that needs the column (the Excel readers) reads
`error.column` or `error.field`, never the message text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: The longest piece of user input quoted in a message (characters).
QUOTE_LIMIT = 200


class AicomputeError(Exception):
    """A problem with the user's input or project, stated so that the user can fix it."""


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`repr(value)`, cut to `limit` characters, for quoting user input in a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


@dataclass(frozen=True)
class Where:
    """Where a value sits in the user's input: a file and, as known, a line, a sheet, row and
    column of a workbook, a field (dotted path in a campaign file) and what the value is.

    Parameters
    ----------
    file : str
        The file as shown to the user (a path, or `inventories/<name>`).
    line : int, optional
        1-based line of a text file.
    sheet, row, column : optional
        Sheet name, 1-based row and column header of a workbook.
    field : str, optional
        The field of the input (`phases[2] (debugging).gpu_hours`).
    what : str, optional
        What the value is (`dataset 'gpu-card-h100'`, `exchange 'Water'`).
    """

    file: str
    line: int | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    field: str | None = None
    what: str | None = None

    def at(self, **parts) -> "Where":
        """A copy with some parts set (`where.at(field="unit")`)."""
        return replace(self, **parts)

    def error(self, problem: str, **parts) -> "InputError":
        """An `InputError` for `problem` at this place (parts override this place's)."""
        return InputError(problem, self.at(**parts) if parts else self)


class InputError(AicomputeError):
    """A problem with one value of the user's input, with its place (`where`).

    The message reads `FILE[, line N][: sheet 'S', row R[, column 'C'] (what) | : what | : field
    'F']: problem`; the field is always in `where.field`.
    """

    def __init__(self, problem: str, where: Where):
        self.problem = problem
        self.where = where
        super().__init__(self._message())

    @property
    def column(self) -> str | None:
        """The workbook column of the problem, if any."""
        return self.where.column

    @property
    def field(self) -> str | None:
        """The input field of the problem, if any."""
        return self.where.field

    def _message(self) -> str:
        w = self.where
        text = str(w.file)
        if w.line is not None:
            text += f", line {w.line}"
        if w.sheet is not None:
            text += f": sheet {w.sheet!r}"
            if w.row is not None:
                text += f", row {w.row}"
            if w.column:
                text += f", column {w.column!r}"
            if w.what:
                text += f" ({w.what})"
        elif w.what:
            text += f": {w.what}"
        if w.field and w.sheet is None and not w.what:  # a dataset's or a sheet's place says enough
            text += f": field {w.field!r}"
        return f"{text}: {self.problem}"
