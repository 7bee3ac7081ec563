"""How the workbooks of bw_aicompute print: number formats, column widths within a page width,
wrapped texts and headers, landscape pages fitted to the width with the header repeated. Used by
the results, sweep and comparison workbooks; reads and sets cell styles only."""

from __future__ import annotations

import math

#: Column width (characters of the default 11 pt font) that fits a landscape A4 or Letter page
#: at a print scale of at least 0.75, so that the 11 pt text prints at 8 pt or more, with
#: LibreOffice's wider substitute fonts too (checked by converting to PDF: 140 characters of
#: DejaVu Sans print at 8.3 pt on Letter).
PAGE_WIDTH = 140
MIN_TEXT_WIDTH = 12
MAX_WIDTH = 60
LINE_HEIGHT = 15  # points per line of 11 pt text


def number_format(value: float) -> str:
    """Thousands separators, three decimals below 1, scientific below 0.01."""
    v = abs(value)
    return "0.00E+00" if 0 < v < 0.01 else "0.000" if v < 1 else "#,##0.00" if v < 1000 else "#,##0"


def header_width(text: str) -> int:
    """The width a header needs when it wraps over at most three lines at its spaces."""
    words = text.split()
    return max([len(w) for w in words] + [math.ceil(len(text) / 3)]) + 2 if words else 4


def _cell_width(value) -> int:
    """The characters a cell shows, and a margin: a number as `number_format` writes it (at
    least 12, so that columns of numbers line up; 176,000,000,000 needs 17, not ###)."""
    if isinstance(value, float):
        shown = f"{value:,.0f}" if number_format(value) == "#,##0" and math.isfinite(value) else ""
        return max(12, len(shown) + 2)
    return len(str(value)) + 2 if value is not None else 0


def widths(ws, header_rows: set[int], skip_rows: set[int]) -> dict[int, tuple[int, bool]]:
    """Column index -> (natural width, holds text): the widest cell (at most `MAX_WIDTH`), headers
    counted as wrapped; rows in `skip_rows` (notes that run over empty cells) not counted."""
    out: dict[int, tuple[int, bool]] = {}
    for col in ws.iter_cols():
        width, text = 8, False
        for cell in col:
            if cell.row in skip_rows or cell.value is None:
                continue
            if cell.row in header_rows:
                width = max(width, header_width(str(cell.value)))
                continue
            width = max(width, min(MAX_WIDTH, _cell_width(cell.value)))
            text |= isinstance(cell.value, str) and len(cell.value) > MIN_TEXT_WIDTH
        out[col[0].column] = (width, text)
    return out


def fit(natural: dict[int, tuple[int, bool]], page: int = PAGE_WIDTH) -> dict[int, int]:
    """Column widths that add up to at most `page` where they can: the widest text columns are
    narrowed (their cells then wrap) down to `MIN_TEXT_WIDTH`; numbers keep their width."""
    w = {c: width for c, (width, _) in natural.items()}
    text = [c for c, (_, t) in natural.items() if t]
    while sum(w.values()) > page and text:
        widest = max(text, key=lambda c: w[c])
        if w[widest] <= MIN_TEXT_WIDTH:
            break
        w[widest] -= 1
    return w


def _style_cells(ws, width: dict[int, int], header_rows: set[int], skip_rows: set[int]) -> None:
    """Number formats; wrapped headers and long texts, each row as high as its tallest cell."""
    from openpyxl.styles import Alignment

    wrap = Alignment(wrap_text=True, vertical="top")
    lines: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.row in skip_rows or cell.value is None:
                continue
            if isinstance(cell.value, float) and cell.number_format == "General":
                cell.number_format = number_format(cell.value)
            room = int(width[cell.column] * 1.15)  # widths count digits; letters are narrower on average
            if isinstance(cell.value, str) and (len(cell.value) > room or cell.row in header_rows):
                cell.alignment = wrap
                lines[cell.row] = max(lines.get(cell.row, 1), _lines(cell.value, room))
    top = Alignment(vertical="top")
    for r, n in lines.items():
        ws.row_dimensions[r].height = LINE_HEIGHT * n
        for cell in ws[r]:
            if not cell.alignment.wrap_text:
                cell.alignment = top


def _lines(text: str, room: int) -> int:
    """Lines a text takes when wrapped at spaces into lines of `room` characters (a longer word
    is broken over lines of its own)."""
    n, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > room:
            n, used = n + 1, 0
        if len(word) > room:
            n += (len(word) - 1) // room
            used = len(word) % room or room
        else:
            used += (1 if used else 0) + len(word)
    return n


def lay_out(xl, headers: dict[str, set[int]] | None = None, notes: dict[str, set[int]] | None = None) -> None:
    """Lay out every sheet of a workbook being written (`pandas.ExcelWriter`) for reading and
    printing.

    Parameters
    ----------
    xl : pandas.ExcelWriter
        With the openpyxl engine.
    headers : dict, optional
        Sheet -> the rows (1-based) that hold headers; default: row 1, which is also frozen and
        repeated on every printed page.
    notes : dict, optional
        Sheet -> rows of notes that run over the empty cells to their right (not wrapped, not
        counted in the widths).
    """
    from .._resources import text_cells

    text_cells(xl.book)  # a name typed as `=HYPERLINK(...)` is shown, never run
    headers, notes = headers or {}, notes or {}
    for ws in xl.sheets.values():
        heads, skip = headers.get(ws.title, {1}), notes.get(ws.title, set())
        if heads == {1}:
            ws.freeze_panes = "B2" if ws.max_column > 1 else "A2"
            ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.5
        width = fit(widths(ws, heads, skip))
        for column, w in width.items():
            ws.column_dimensions[ws.cell(row=1, column=column).column_letter].width = w
        _style_cells(ws, width, heads, skip)
