"""The weekly report as a short Indonesian text that reads well on a phone.

Headline figures with their change from the previous week, the offices needing attention
first with their reasons, channel gaps, and a link to the console page. WhatsApp ``*bold*``
markers (the Telegram adapter turns them into bold entities). Kept short: at most
:data:`MAX_ATTENTION` offices are named, the rest counted, so the text usually fits an image
caption (1024 characters).
"""

from __future__ import annotations

from bridge.reports import format as fmt
from bridge.reports.weekly import WeeklyReport

#: Offices needing attention named in the text; the console page lists them all.
MAX_ATTENTION = 8


def console_link(public_url: str, report: WeeklyReport) -> str:
    """The console page of the report's week."""
    return f"{public_url.rstrip('/')}/ops/reports/weekly?week={report.week}"


def weekly_text(report: WeeklyReport, *, public_url: str) -> str:
    """The report for a phone (see the module docstring)."""
    total, change = report.totals.figures, report.totals.change
    lines = [
        "*Laporan Mingguan Aduan Wadule*",
        f"Minggu {report.week} ({fmt.date_range(report.week)})",
    ]
    if not report.complete:
        lines.append(f"Sementara, sampai {fmt.moment(report.as_of)}")
    median = total.median_first_answer
    lines += [
        "",
        f"Diterima: {total.received} ({fmt.signed(change.received)})",
        f"Dijawab: {total.answered} ({fmt.signed(change.answered)})",
        "Median jawaban pertama: "
        + (
            f"{fmt.days(median.working_days)} ({fmt.signed(change.median_first_answer_days, 1)})"
            if median is not None
            else f"{fmt.DASH} (belum ada jawaban)"
        ),
        "Selesai: "
        + ", ".join(
            f"{total.grades[grade]} {grade} ({fmt.signed(change.grades[grade])})"
            for grade in ("cepat", "sedang", "lambat")
        ),
        f"Terbuka melewati SLA: {total.open_past_sla} ({fmt.signed(change.open_past_sla)})",
        "(dalam kurung: selisih dari minggu lalu)",
        "",
    ]
    attention = report.needing_attention
    if attention:
        lines.append(f"*Perlu perhatian: {len(attention)} dari {report.totals.offices} OPD*")
        for number, line in enumerate(attention[:MAX_ATTENTION], 1):
            lines.append(f"{number}. {line.opd_name}: " + "; ".join(r.text for r in line.reasons))
        if len(attention) > MAX_ATTENTION:
            lines.append(f"... dan {len(attention) - MAX_ATTENTION} OPD lain (lihat rincian)")
    else:
        lines.append("*Semua OPD dalam batas SLA.*")
    lines += [
        "",
        "*Saluran*",
        *_channel_lines(report),
        "",
        f"Rincian: {console_link(public_url, report)}",
    ]
    return "\n".join(lines)


def _channel_lines(report: WeeklyReport) -> list[str]:
    unusable = [
        f"{line.opd_name} ({', '.join(fmt.KIND_LABELS[k] for k in line.coverage.unusable)})"
        for line in report.offices
        if line.coverage.unusable
    ]
    without_group = [
        line.opd_name for line in report.offices if not line.coverage.whatsapp_group.present
    ]
    missing = {
        kind: sum(1 for line in report.offices if kind in line.coverage.missing)
        for kind in ("facebook_page", "instagram", "x")
    }
    lines = []
    if unusable:
        lines.append("Tidak dapat dipakai: " + "; ".join(unusable))
    if without_group:
        lines.append("Tanpa grup WhatsApp: " + ", ".join(without_group))
    if any(missing.values()):
        lines.append(
            "Belum punya: "
            + ", ".join(f"{fmt.KIND_LABELS[k]} {n} OPD" for k, n in missing.items() if n)
        )
    if not unusable and not without_group:
        lines.insert(0, "Semua grup WhatsApp dan saluran yang dicek dapat dipakai.")
    return lines
