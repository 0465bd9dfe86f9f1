"""Report rendering: CSV for Excel (BOM, formula injection) and PDF with Chinese text."""
from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timezone

import pypdf
import pytest

from core.table_export import FontNotFoundError, find_cjk_font, render_csv, render_pdf

TITLE = "衢江区司法局 外出请假审批报告"


def _parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel then reads the file as UTF-8
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_csv_utf8_with_bom_and_chinese():
    data = render_csv(["姓名", "事由", "天数", "审批时间"],
                      [["张三", "就医，去杭州", 3, datetime(2025, 5, 1, 1, 30, tzinfo=timezone.utc)],
                       ["李四", None, 0, None]])
    assert b"\r\n" in data
    assert _parse(data) == [
        ["姓名", "事由", "天数", "审批时间"],
        ["张三", "就医，去杭州", "3", "2025-05-01 09:30:00"],
        ["李四", "", "0", ""],
    ]


@pytest.mark.parametrize("evil", [
    "=HYPERLINK(\"http://x\",\"点我\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
    "\t=1+1", "\r=1+1", "=cmd|' /C notepad'!'A1'",
])
def test_csv_escapes_formula_injection(evil):
    parsed = _parse(render_csv(["备注", evil], [[evil, "正常"]]))
    assert parsed[1][0] == "'" + evil
    assert parsed[0][1] == "'" + evil  # headers are escaped too
    assert parsed[1][1] == "正常"


def test_csv_leaves_numbers_and_safe_text_alone():
    parsed = _parse(render_csv(["a", "b", "c", "d"], [[-3, -1.5, "a=b", "张三-李四"]]))
    assert parsed[1] == ["-3", "-1.5", "a=b", "张三-李四"]


def test_csv_rejects_ragged_rows():
    with pytest.raises(ValueError, match="row 2 has 1 cells, expected 2"):
        render_csv(["a", "b"], [["1", "2"], ["3"]])


def _pdf_text(data: bytes) -> tuple[int, list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), [p.extract_text() for p in reader.pages]


def test_pdf_contains_chinese_text_headers_and_page_numbers():
    rows = [[i + 1, "张三" if i % 2 else "李四", "就医，去杭州市第一人民医院复查" * (1 + i % 3), "批准"]
            for i in range(90)]
    data = render_pdf(
        TITLE, "2025年5月 审批记录（共 90 条）",
        [("一、审批明细", ["序号", "姓名", "事由", "结果"], rows),
         ("二、被驳回的申请", ["姓名", "理由"], [])],
        generated_at=datetime(2025, 6, 1, 2, 0, tzinfo=timezone.utc),
    )
    assert data.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)                  # landscape
    assert round(float(box.width) / 72 * 25.4) == 297            # A4
    pages, texts = _pdf_text(data)
    assert pages >= 3
    assert TITLE in texts[0] and "张三" in texts[0] and "李四" in texts[0]
    assert "生成时间：2025-06-01 10:00:00" in texts[0]
    for n, text in enumerate(texts, start=1):
        assert f"第 {n} / {pages} 页" in text
        assert "序号 姓名 事由 结果" in text                        # header repeated on every page
    assert "（无记录）" in texts[-1] and "二、被驳回的申请" in texts[-1]
    assert reader.metadata.title == TITLE


def test_pdf_rejects_ragged_rows():
    with pytest.raises(ValueError):
        render_pdf("t", "", [("s", ["a", "b"], [["1"]])])


def test_missing_font_names_the_package(tmp_path, monkeypatch):
    with pytest.raises(FontNotFoundError, match="does not exist"):
        find_cjk_font(tmp_path / "none.ttf")
    monkeypatch.setattr("core.table_export.CJK_FONT_CANDIDATES", ((str(tmp_path / "x.ttc"), 0),))
    with pytest.raises(FontNotFoundError, match="fonts-wqy-microhei"):
        render_pdf("t", "", [])


def _squeezed(text: str) -> str:
    # Narrow columns wrap a heading over lines; its pieces stay consecutive in the text.
    return "".join(text.split())


def test_pdf_with_many_columns_and_long_chinese_cells_finishes():
    # Before: 30+ columns on A4 made a column narrower than one CJK character and
    # fpdf2's wrapping never ended (a test run grew to 23 GB).
    columns = [f"字段{i:02d}" for i in range(30)]
    # A third of the columns hold long remarks, the rest one character: proportional
    # widths alone would leave those columns ~2 mm wide.
    rows = [[f"第{r}行：就医，去杭州市第一人民医院复查，并在亲属家中暂住数日" * (1 + (r + c) % 4) if c % 3 == 0
             else "是" for c in range(30)] for r in range(12)]
    started = time.monotonic()
    data = render_pdf(TITLE, "30 列", [("宽表", columns, rows)])
    assert time.monotonic() - started < 5
    pages, texts = _pdf_text(data)
    text = _squeezed("".join(texts))
    assert all(c in text for c in columns)
    assert "…" in text  # over-long cells are clipped, not wrapped without end


def test_pdf_too_many_columns_split_into_groups_repeating_the_key():
    columns = ["姓名"] + [f"项{i:03d}" for i in range(1, 120)]
    rows = [[f"张三{r}"] + ["是否按时报到" for _ in range(119)] for r in range(3)]
    started = time.monotonic()
    data = render_pdf(TITLE, "", [("超宽表", columns, rows)])
    assert time.monotonic() - started < 5
    _, texts = _pdf_text(data)
    text = _squeezed("".join(texts))
    assert all(c in text for c in columns) and "超宽表（第1/" in text
    groups = int(text.split("超宽表（第1/")[1][0])
    assert groups >= 2 and text.count("张三0") == groups  # the key column repeats in every group


def test_pdf_cell_wider_than_a_page_is_clipped_and_odd_characters_survive():
    cell = "超长备注" * 5000 + "\r\n\t\x00"
    data = render_pdf("t", "", [("s", ["备注", "结果"], [[cell, "批准"], ["\U0001F600" * 50, "否"]])])
    _, texts = _pdf_text(data)
    assert "批准" in "".join(texts) and "…" in "".join(texts)
