"""Generic table export: CSV for Excel, PDF with an embedded CJK font.

Used by the manager's leave-audit report and the inspectors' exports. Pure:
callers pass plain rows (already authorised and fetched) and get bytes.
"""
from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from core.localtime import LOCAL_TZ


# (path, index within a .ttc collection). fpdf2 reads collections itself.
CJK_FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),      # Debian: fonts-wqy-microhei
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),        # Debian: fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),          # Debian: fonts-arphic-uming
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # fonts-noto-cjk; 2 = SC (untested)
)

# Spreadsheet programs treat a cell starting with these as a formula (or DDE).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class FontNotFoundError(RuntimeError):
    """No font able to show Chinese text was found."""


# ---------------------------------------------------------------- CSV

def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(LOCAL_TZ)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _csv_cell(value: Any) -> str:
    text = _cell_text(value)
    # Numbers are data, not formulas: keep -3 a number. Everything else that a
    # spreadsheet would evaluate gets a leading quote (OWASP "CSV injection").
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return text
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text


def _check_shape(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    for n, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            raise ValueError(f"row {n} has {len(row)} cells, expected {len(columns)}")


def render_csv(columns: list[str], rows: list[list]) -> bytes:
    """CSV as UTF-8 with BOM (so Excel reads Chinese), CRLF, formula cells neutralised."""
    _check_shape(columns, rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_csv_cell(c) for c in columns])
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return buf.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- PDF

def find_cjk_font(font_path: str | os.PathLike | None = None) -> tuple[str, int]:
    """Return (path, collection index) of a usable CJK font, or raise FontNotFoundError."""
    if font_path is not None:
        if not Path(font_path).is_file():
            raise FontNotFoundError(f"CJK font {font_path} does not exist")
        return str(font_path), 0
    for path, index in CJK_FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    raise FontNotFoundError(
        "no CJK font found for PDF reports; install the Debian package fonts-wqy-microhei "
        "(apt-get install fonts-wqy-microhei) or pass font_path"
    )


class _ReportPDF(FPDF):
    def __init__(self, title: str, generated: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self._title, self._generated = title, generated

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(size=8)
        self.cell(0, 6, f"{self._title}    生成时间 {self._generated}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 6, f"第 {self.page_no()} / {{nb}} 页", align="R")


def _col_widths(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[float]:
    # Proportional to the longest text (CJK counts double), clamped so one
    # long remark cannot squeeze the other columns to nothing.
    def width(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)

    weights = []
    for i, name in enumerate(columns):
        longest = max([width(name)] + [width(_cell_text(r[i])) for r in rows[:500]])
        weights.append(min(max(longest, 4), 40))
    return weights


# fpdf2's line breaker never finishes on a glyph wider than its column (it
# emits empty lines until memory runs out: a test run reached 23 GB). So every
# column is at least two CJK characters wide, the font shrinks (to a floor)
# and then the table splits into column groups before that can happen, and
# each cell is clipped to a bounded number of lines we count ourselves.
_FONT_SIZES_PT = (9.0, 8.0, 7.0, 6.0)  # tried in turn; the last is the floor
_MAX_CELL_LINES = 20    # x 5 mm: a row always fits on one page, whatever a cell holds
_MAX_HEADING_LINES = 4
_MAX_CELL_CHARS = 4_000  # measured per character: bound that work too
_WRAP_SLACK_MM = 0.5     # count lines on a slightly narrower column than fpdf2 uses: never fewer lines
_ELLIPSIS = "…"


def _min_col_width(pdf: FPDF) -> float:
    """Two CJK characters plus the cell's margins and border, at the current font size."""
    return pdf.get_string_width("中中") + 2 * pdf.c_margin + pdf.line_width + _WRAP_SLACK_MM


def _fit_widths(weights: Sequence[float], total: float, minimum: float) -> list[float]:
    """Widths proportional to ``weights`` summing to ``total``, none below ``minimum`` (len * minimum <= total)."""
    widths = [0.0] * len(weights)
    free, remaining = set(range(len(weights))), total
    while free:  # each pass fixes at least one column at the minimum, or ends
        wsum = sum(weights[i] for i in free)
        small = {i for i in free if weights[i] / wsum * remaining < minimum}
        if not small:
            for i in free:
                widths[i] = weights[i] / wsum * remaining
            break
        for i in small:
            widths[i] = minimum
        remaining -= minimum * len(small)
        free -= small
    return widths


def _plan_columns(pdf: FPDF, weights: Sequence[float]) -> tuple[float, list[tuple[list[int], list[float]]]]:
    """Font size and column groups (column indices, widths in mm) so that every column is wide enough.

    The largest font at which all columns fit; failing that, at the floor
    size, groups of columns each repeating column 0 as the row's key.
    """
    total = pdf.epw
    for size in _FONT_SIZES_PT:
        pdf.set_font_size(size)
        minimum = _min_col_width(pdf)
        if len(weights) * minimum <= total:
            return size, [(list(range(len(weights))), _fit_widths(weights, total, minimum))]
    per_group = max(1, int(total // minimum) - 1)  # besides the key column
    groups = [[0, *range(i, min(i + per_group, len(weights)))] for i in range(1, len(weights), per_group)]
    return size, [(g, _fit_widths([weights[i] for i in g], total, minimum)) for g in groups]


def _clip_cell(pdf: FPDF, text: str, col_width: float, max_lines: int, glyph_w: dict[str, float]) -> str:
    """``text`` cut (with an ellipsis) to at most ``max_lines`` lines when char-wrapped in the column.

    A glyph wider than the column (none should be, but fonts vary) becomes
    "?": it is the one thing fpdf2 cannot wrap.
    """
    width = col_width - 2 * pdf.c_margin - pdf.line_width - _WRAP_SLACK_MM
    if len(text) > _MAX_CELL_CHARS:
        text = text[:_MAX_CELL_CHARS] + _ELLIPSIS.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    out: list[str] = []
    lines, x = 1, 0.0
    for ch in text:
        if ch == "\n":
            lines, x = lines + 1, 0.0
        elif ord(ch) < 0x20:
            continue  # other control characters have no business in a printed cell
        else:
            w = glyph_w.get(ch)
            if w is None:
                w = glyph_w[ch] = pdf.get_string_width(ch)
            if w > width:
                ch, w = "?", pdf.get_string_width("?")
            if x + w > width:
                lines, x = lines + 1, 0.0
            x += w
        if lines > max_lines:
            return "".join(out[:-1]).rstrip("\n") + _ELLIPSIS  # one glyph out, the ellipsis (narrower) in
        out.append(ch)
    return "".join(out)


def render_pdf(
    title: str,
    subtitle: str,
    sections: list[tuple[str, list[str], list[list]]],
    *,
    font_path: str | os.PathLike | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """A4 landscape PDF: title, subtitle, then one table per section (header repeated on each page)."""
    for _, columns, rows in sections:
        _check_shape(columns, rows)
    path, index = find_cjk_font(font_path)
    when = (generated_at or datetime.now(timezone.utc))
    generated = (when.astimezone(LOCAL_TZ) if when.tzinfo else when).strftime("%Y-%m-%d %H:%M:%S") + " (UTC+8)"

    pdf = _ReportPDF(title, generated)
    pdf.set_title(title)
    pdf.set_creator("zhijiao")
    pdf.set_creation_date(when if when.tzinfo else when.replace(tzinfo=LOCAL_TZ))
    pdf.add_font("cjk", "", path, collection_font_number=index)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=10)
    if subtitle:
        pdf.cell(0, 7, subtitle, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 6, f"生成时间：{generated}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # The font has no bold face: headings are set apart by a fill instead.
    heading = FontFace(emphasis="", fill_color=(225, 230, 240))
    for name, columns, rows in sections:
        pdf.ln(3)
        pdf.set_font("cjk", size=12)
        pdf.cell(0, 8, name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("cjk", size=9)
        if not rows:
            pdf.cell(0, 6, "（无记录）", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            continue
        size, groups = _plan_columns(pdf, _col_widths(columns, rows))
        head = [str(c) for c in columns]
        body = [[_cell_text(v) for v in r] for r in rows]
        for k, (cols, widths) in enumerate(groups, start=1):
            if len(groups) > 1:
                pdf.set_font("cjk", size=10)
                pdf.cell(0, 7, f"{name}（第 {k}/{len(groups)} 组列，首列重复）",
                         new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font("cjk", size=size)
            glyph_w: dict[str, float] = {}  # per font size: measuring is per character
            with pdf.table(
                col_widths=widths,
                width=min(sum(widths), pdf.epw),  # float sums can exceed epw by a hair
                headings_style=heading,
                repeat_headings=1,
                wrapmode=WrapMode.CHAR,   # Chinese has no spaces to break at
                text_align="LEFT",
                line_height=round(size * 0.56, 2),  # 5 mm at 9 pt
            ) as table:
                table.row([_clip_cell(pdf, head[i], w, _MAX_HEADING_LINES, glyph_w) for i, w in zip(cols, widths)])
                for r in body:
                    table.row([_clip_cell(pdf, r[i], w, _MAX_CELL_LINES, glyph_w) for i, w in zip(cols, widths)])
    return bytes(pdf.output())
