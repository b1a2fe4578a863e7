"""Slides of a results dataset for a committee (PowerPoint, python-pptx).

:func:`write_slides` writes a 16:9 deck: a title slide (scenarios, period, generation date), the key
messages (:func:`lda_sim.presentation.report.key_messages`), the limits (:func:`lda_sim.presentation.report.limits`), one
chart per slide with its caption (the chart set of :mod:`lda_sim.presentation.plotting`), and the summary table
(:func:`lda_sim.presentation.report.summary_by_scenario`). French by default, ``lang="en"`` for English; the texts
are those of the HTML report. Needs ``python-pptx`` (``pip install 'lda_sim[slides]'``).
"""

from __future__ import annotations

import base64
import datetime
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from ..config.files import write_atomic
from .plotting import Period, _stamp_text
from .report import (
    LOCALES,
    REPORT_TEXT,
    SUMMARY_COLUMNS,
    _number,
    key_messages,
    limits,
    rendered_charts,
    scenario_title,
    summary_by_scenario,
)

__all__ = ["SLIDE_TEXT", "write_slides"]

#: Texts of the slides that the report does not have.
SLIDE_TEXT = {
    "fr": {"subtitle": "{period} · {stamp}\n{generated}", "table": "Indicateurs par territoire et par scénario", "table_part": "Indicateurs ({part}/{parts})"},
    "en": {"subtitle": "{period} · {stamp}\n{generated}", "table": "Indicators by territory and scenario", "table_part": "Indicators ({part}/{parts})"},
}
#: Bullets per slide of messages, rows per slide of the table.
BULLETS_PER_SLIDE = 7
ROWS_PER_SLIDE = 12


def _pptx():
    try:
        import pptx  # noqa: F401
        from pptx import Presentation
        from pptx.util import Emu, Inches, Pt
    except ImportError:  # pragma: no cover - the test extra installs it
        raise ValueError("slides need python-pptx: pip install 'lda_sim[slides]'") from None
    return Presentation, Inches, Pt, Emu


def _bullets(prs: Any, title: str, items: Sequence[str], Pt: Any) -> None:
    for start in range(0, max(len(items), 1), BULLETS_PER_SLIDE):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.clear()
        for i, item in enumerate(items[start:start + BULLETS_PER_SLIDE]):
            paragraph = body.paragraphs[0] if i == 0 else body.add_paragraph()
            paragraph.text = item
            paragraph.font.size = Pt(16)


def write_slides(
    ds: xr.Dataset, path: str | Path, *, lang: str = "fr", period: Period = None, territories: Sequence[str] | None = None,
    today: datetime.date | None = None, progress: Any = None,
) -> Path:
    """Write the slides of ``ds`` to ``path`` (``.pptx``) atomically; returns the path.

    ``period`` and ``territories`` choose the charts as for the report; ``progress`` (a
    ``tqdm``-like factory) shows the charts being drawn.
    """
    if lang not in REPORT_TEXT:
        raise ValueError(f"lang must be one of {sorted(REPORT_TEXT)}, not {lang!r}")
    Presentation, Inches, Pt, Emu = _pptx()
    from babel.dates import format_date

    text, extra = REPORT_TEXT[lang], SLIDE_TEXT[lang]
    names = [str(n) for n in (ds["scenario"].values if "scenario" in ds.dims else [ds.attrs.get("scenario", "?")])]
    table = summary_by_scenario(ds, period)
    groups = rendered_charts(ds, lang, period, territories, progress=progress)  # checks the period and territories first

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    title = prs.slides.add_slide(prs.slide_layouts[0])
    title.shapes.title.text = text["title"].format(scenarios=", ".join(scenario_title(n, lang) for n in names))
    first, last = (ds["time"].values[0], ds["time"].values[-1]) if ds.sizes.get("time") else (None, None)
    from .report import _month

    period_text = text["horizon_value"].format(start=_month(first, lang), end=_month(last, lang), months=ds.sizes["time"]) if first is not None else ""
    title.placeholders[1].text = extra["subtitle"].format(
        period=period_text, stamp=_stamp_text(ds, lang),
        generated=text["generated_on"].format(date=format_date(today or datetime.date.today(), "long", locale=LOCALES[lang])),
    )
    _bullets(prs, text["messages"], [m["text"] for m in key_messages(ds, lang, table)], Pt)
    _bullets(prs, text["limits"], [m["text"] for m in limits(ds, lang)], Pt)

    width, height = prs.slide_width, prs.slide_height
    for group in groups:
        for chart in group["charts"]:
            slide = prs.slides.add_slide(prs.slide_layouts[6])
            picture_height = Emu(int(height * 0.84))
            picture_width = Emu(int(picture_height * 16 / 9))
            slide.shapes.add_picture(io.BytesIO(base64.b64decode(chart["data"])), Emu(int((width - picture_width) / 2)), Emu(0), picture_width, picture_height)
            box = slide.shapes.add_textbox(Inches(0.4), Emu(int(height * 0.85)), Emu(int(width - Inches(0.8))), Emu(int(height * 0.14)))
            frame = box.text_frame
            frame.word_wrap = True
            frame.text = f"{chart['caption']}. {chart['text']}".strip()
            for paragraph in frame.paragraphs:
                paragraph.font.size = Pt(12)
            box.name = f"caption:{chart['name']}"

    columns = [c for c in SUMMARY_COLUMNS if c not in ("returns", "p90_wait_housing", "wait_shelter")] + [c for c in ("cost",) if c in table]
    head = [text["scenario"], text["territory"], *(text[c] for c in columns)]
    chunks = [table.iloc[i:i + ROWS_PER_SLIDE] for i in range(0, len(table), ROWS_PER_SLIDE)]
    for k, chunk in enumerate(chunks, 1):
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        slide.shapes.title.text = extra["table"] if len(chunks) == 1 else extra["table_part"].format(part=k, parts=len(chunks))
        shape = slide.shapes.add_table(len(chunk) + 1, len(head), Inches(0.4), Inches(1.5), Emu(int(width - Inches(0.8))), Inches(0.4) * (len(chunk) + 1))
        grid = shape.table
        for j, h in enumerate(head):
            grid.cell(0, j).text = h
        for i, (_, row) in enumerate(chunk.iterrows(), 1):
            cells = [scenario_title(str(row["scenario"]), lang), str(row["territory_label"])]
            for c in columns:
                if c == "street":
                    cells.append(f"{_number(row['street_start'], lang)} → {_number(row['street_period'], lang)}")
                else:
                    cells.append(_number(row[c], lang, 1 if c == "cost" else 0))
            for j, value in enumerate(cells):
                grid.cell(i, j).text = value
        for r in range(len(chunk) + 1):
            for j in range(len(head)):
                for paragraph in grid.cell(r, j).text_frame.paragraphs:
                    paragraph.font.size = Pt(12)

    return write_atomic(path, lambda tmp: prs.save(str(tmp)))
