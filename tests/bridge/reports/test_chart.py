"""The chart: a PNG that decodes, with the bars where the layout says and in their band's
colour; the same chart as CSP-safe inline SVG."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from PIL import Image

from bridge.db import new_session
from bridge.reports import build_weekly_report, chart_layout, render_png, render_svg
from bridge.reports.chart import BAND_COLOURS, NO_DATA, SLA_DEFAULT, SLA_OWN, TRACK, band
from bridge.reports.grades import Grade
from tests.bridge.reports.conftest import NOW, WEEK

SVG = "{http://www.w3.org/2000/svg}"


def report_of(app):
    with app.app_context(), new_session() as db:
        return build_weekly_report(db, app.config["BRIDGE_SETTINGS"], WEEK, now=NOW)


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def test_bands_against_the_offices_sla():
    assert [band(r) for r in (None, 0.2, 1.0, 1.01, 2.0, 2.5)] == [
        None, Grade.CEPAT, Grade.CEPAT, Grade.SEDANG, Grade.SEDANG, Grade.LAMBAT
    ]  # fmt: skip
    assert NO_DATA not in BAND_COLOURS.values()


def test_png_has_each_bar_in_its_bands_colour(sample):
    report = report_of(sample)
    layout = chart_layout(report)
    image = Image.open(io.BytesIO(render_png(report)))
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (layout.width, layout.height))
    assert layout.width == 1080 and 800 < layout.height < 1400
    # The scale: the slowest median (dinkes, 1.375 days) fits; 1.5 days across.
    assert layout.scale_days == 1.5
    rows = {row.opd_slug: row for row in layout.rows}
    assert [row.opd_slug for row in layout.rows] == [line.opd_slug for line in report.offices]
    expected = {"dpu": Grade.CEPAT, "dinkes": Grade.SEDANG, "bpbd": Grade.SEDANG}
    for slug, grade in expected.items():
        row = rows[slug]
        assert row.band is grade
        middle = (row.bar.y0 + row.bar.y1) / 2
        # Inside the bar, just after its start and just before its end: the band's colour.
        assert image.getpixel((row.bar.x0 + 2, middle)) == rgb(BAND_COLOURS[grade]), slug
        assert image.getpixel((row.bar.x1 - 3, middle)) == rgb(BAND_COLOURS[grade]), slug
        # Past its end (away from the SLA mark): the empty track.
        assert image.getpixel((row.bar.x1 + 12, middle)) == rgb(TRACK), slug
    # dpu's median is half a day: its bar ends half-way to the 1-day mark.
    assert abs(rows["dpu"].bar.x1 - layout.x_of(0.5)) < 1
    assert abs(rows["dinkes"].bar.x1 - layout.x_of(1.375)) < 1
    # No answers, no bar; the track shows.
    for slug in ("dishub", "kominfo", "dlh", "pimpinan"):
        assert rows[slug].bar is None and rows[slug].band is None
        top = rows[slug].top + 36 + 11
        assert image.getpixel((layout.x0 + 5, top)) == rgb(TRACK)


def test_sla_marks(sample):
    report = report_of(sample)
    layout = chart_layout(report)
    image = Image.open(io.BytesIO(render_png(report)))
    rows = {row.opd_slug: row for row in layout.rows}
    # The default 1d mark, dashed (the dash starts at the mark's top); bpbd's own 4h at half a
    # day of 8 hours, solid.
    assert rows["dpu"].sla_x == layout.x_of(1.0)
    assert rows["bpbd"].sla_x == layout.x_of(0.5)
    top = rows["dlh"].top + 36 - 5
    assert image.getpixel((rows["dlh"].sla_x, top + 2)) == rgb(SLA_DEFAULT)
    assert image.getpixel((rows["bpbd"].sla_x, rows["bpbd"].top + 36 + 11)) == rgb(SLA_OWN)


def test_svg_is_well_formed_and_needs_no_style_or_script(sample):
    report = report_of(sample)
    svg = render_svg(report)
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    layout = chart_layout(report)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {layout.width} {layout.height}"
    assert root.get("role") == "img" and "2026-W10" in root.get("aria-label")
    elements = list(root.iter())
    tags = {element.tag.removeprefix(SVG) for element in elements}
    assert tags <= {"svg", "title", "rect", "line", "text"}
    for element in elements:
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)
        assert not any("url(" in value or "href" in name for name, value in element.attrib.items())
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "1. Dinas Perhubungan" in texts and "1,4 hari kerja" in texts
    # The same bars as the PNG: bpbd's and dinkes's in the sedang colour, as the layout says.
    rows = {row.opd_slug: row for row in layout.rows}
    bar_tops = {rows[slug].bar.y0 for slug in ("bpbd", "dinkes")}
    bars = [
        element
        for element in root.iter(f"{SVG}rect")
        if element.get("fill") == BAND_COLOURS[Grade.SEDANG] and float(element.get("y")) in bar_tops
    ]
    assert sorted(round(float(bar.get("width")), 1) for bar in bars) == sorted(
        round(rows[slug].bar.x1 - rows[slug].bar.x0, 1) for slug in ("bpbd", "dinkes")
    )


def test_names_escape_in_svg(sample):
    import dataclasses

    report = report_of(sample)
    line = dataclasses.replace(report.offices[0], opd_name='Dinas <Tata> & "Ruang"')
    svg = render_svg(dataclasses.replace(report, offices=(line, *report.offices[1:])))
    texts = [e.text for e in ET.fromstring(svg).iter(f"{SVG}text")]  # noqa: S314
    assert '1. Dinas <Tata> & "Ruang"' in texts
