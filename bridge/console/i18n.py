"""The console's words: Indonesian by default, English with ``BRIDGE_CONSOLE_LANGUAGE=en``.

One dict per language with the same keys (a test holds them to that, fields included). Each
entry is a ``str.format`` template; an English entry that depends on a count is a pair
``(one, other)`` (Indonesian nouns do not change with the number). Status, channel kind and
verdict names have entries of their own; a value the catalogue does not know (a status a newer
version wrote) is shown as it is rather than breaking the page.

Times are shown in WIB (the operators are in Pacitan): Indonesian month names and ``08.15``
as :func:`bridge.messages.format_wib` writes them to OPD groups, or English ones.
"""

from __future__ import annotations

import datetime as dt
import math
import string

from flask import current_app

from bridge.commands import STATUS_ID
from bridge.messages import WIB, format_wib
from bridge.models import utcnow
from bridge.reports import format as report_format
from bridge.worktime import Duration

#: Shown where a time or a figure does not exist (yet).
MISSING = "\N{EN DASH}"
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

ID: dict[str, str] = {
    # Frame
    "console": "Konsol",
    "nav.label": "Menu",
    "nav.dashboard": "Dasbor",
    "nav.deliveries": "Pengiriman",
    "nav.opds": "OPD",
    "nav.report": "Laporan mingguan",
    "nav.checks": "Saluran",
    "nav.sandbox": "Sandbox",
    "find.placeholder": "ID aduan",
    "find.button": "Buka",
    "logout": "Keluar",
    "page": "halaman {page}",
    "newer": "\N{LEFTWARDS ARROW} Lebih baru",
    "older": "Lebih lama \N{RIGHTWARDS ARROW}",
    "legend": "Arti status (nilai di API)",
    # Log in and out
    "login.title": "Masuk",
    "login.heading": "Konsol Wadule Bridge",
    "login.username": "Nama pengguna",
    "login.password": "Kata sandi",
    "login.button": "Masuk",
    "login.accounts": "Akun dibuat di server dengan:",
    "login.failed": "Nama pengguna tidak dikenal atau kata sandi salah.",
    "login.backoff": (
        "Terlalu banyak percobaan masuk yang gagal. Tunggu {seconds} detik sebelum mencoba lagi."
    ),
    "login.locked_account": (
        "Akun ini dikunci karena terlalu banyak percobaan masuk yang gagal. Coba lagi setelah "
        "{until} (dalam {minutes} menit), atau minta administrator mengatur ulang kata sandinya."
    ),
    "login.locked_address": (
        "Percobaan masuk dari alamat Anda dikunci karena terlalu banyak yang gagal. "
        "Coba lagi setelah {until} (dalam {minutes} menit)."
    ),
    "logged_out": "Anda sudah keluar.",
    # Errors
    "error.back": "Kembali ke dasbor",
    "error.400": "Permintaan tidak valid",
    "error.403": "Tidak diizinkan",
    "error.404": "Tidak ditemukan",
    "error.405": "Metode tidak diizinkan",
    "error.413": "Kiriman terlalu besar",
    "error.429": "Terlalu banyak percobaan",
    "error.500": "Kesalahan di server",
    "error.503": "Layanan sedang tidak tersedia",
    "error.other": "Kesalahan {code}",
    "error.generic": "Permintaan ini tidak bisa dilayani.",
    "error.csrf": (
        "Formulir sudah kedaluwarsa atau tidak dikirim dari konsol ini. Muat ulang halaman."
    ),
    "error.unavailable": "Basis data sedang tidak menjawab. Coba lagi dalam beberapa detik.",
    "error.no_complaint": "Tidak ada aduan {wadule_id}.",
    "error.no_delivery": "Tidak ada pengiriman {id}.",
    "error.bad_status": "status harus salah satu dari: {allowed}.",
    "error.bad_kind": "saluran tidak dikenal: {kind}.",
    "error.bad_opd": "OPD tidak dikenal: {opd}.",
    "error.bad_page": "halaman harus bilangan bulat positif.",
    "error.bad_ids": "pilihan pengiriman tidak valid.",
    "error.too_many_ids": "paling banyak {limit} pengiriman sekali kirim ulang.",
    "error.bad_scope": "pilih saluran atau OPD dulu untuk mengirim ulang semuanya.",
    # Dashboard
    "dashboard.title": "Dasbor",
    "dashboard.heading": "Kesehatan antrean",
    "dashboard.sandbox": (
        "Mode sandbox: semua kiriman saluran masuk ke kotak masuk sandbox; tidak ada yang "
        "sampai ke penyedia."
    ),
    "dashboard.sandbox_link": "Buka kotak masuk sandbox",
    "dashboard.due_now": "jatuh tempo, belum diambil pekerja",
    "dashboard.oldest_due": "pengiriman jatuh tempo tertua sudah menunggu",
    "dashboard.unusable": "saluran tidak bisa dipakai (pemeriksaan terakhir)",
    "dashboard.broker_ok": "tersambung",
    "dashboard.broker_down": "terputus",
    "dashboard.broker": "broker antrean",
    "dashboard.by_channel": "Pengiriman per saluran dan status",
    "dashboard.by_status": "Aduan per status",
    "dashboard.no_deliveries": "Belum ada pengiriman.",
    "dashboard.no_complaints": "Belum ada aduan.",
    "col.channel": "saluran",
    "col.total": "jumlah",
    "col.all": "semua",
    # Deliveries
    "deliveries.title": "Pengiriman",
    "deliveries.heading": "Pengiriman yang perlu ditangani",
    "deliveries.failing": "perlu diperiksa + gagal",
    "deliveries.all_kinds": "Semua saluran",
    "deliveries.all_opds": "Semua OPD",
    "deliveries.filter": "Saring",
    "deliveries.help": (
        "Tombol per baris mengirim lagi setiap pengiriman yang gagal atau perlu diperiksa dari "
        "aduan dan saluran itu. Pengiriman yang perlu diperiksa mungkin sudah terkirim: lihat "
        "dulu grup atau akunnya sebelum mengirim ulang."
    ),
    "deliveries.empty": "Tidak ada pengiriman di sini.",
    "deliveries.earlier_round": "ronde sebelumnya",
    "deliveries.notice": "pesan bridge: tidak dikirim ulang",
    "deliveries.select": "pilih {wadule_id} {kind}",
    "col.select": "pilih",
    "col.complaint": "aduan",
    "col.opd": "OPD",
    "col.target": "tujuan",
    "col.status": "status",
    "col.attempts": "percobaan",
    "col.last_error": "galat terakhir",
    "col.updated": "diperbarui",
    "col.action": "tindakan",
    "retry.retry": "Coba lagi",
    "retry.resend": "Kirim ulang",
    "retry.checked": "sudah diperiksa, belum terkirim",
    "retry.checked_hint": "Penyedia mungkin sudah mengirimnya: lihat dulu tujuannya",
    "retry.done": "{count} pengiriman {kind} untuk {wadule_id} dijadwalkan ulang.",
    "retry.earlier_round": (
        "Tidak ada yang dikirim ulang: pengiriman {kind} untuk {wadule_id} ini milik ronde "
        "penerusan sebelumnya."
    ),
    "retry.not_failing": (
        "Tidak ada yang dikirim ulang: pengiriman {kind} untuk {wadule_id} sekarang "
        'berstatus "{status}".'
    ),
    "retry.notice": "Pesan bridge sendiri (balasan di grup) tidak dikirim ulang.",
    "retry.needs_review": (
        "Tidak dikirim ulang: ada pengiriman {kind} untuk {wadule_id} yang perlu diperiksa. "
        'Pastikan tujuannya belum menerimanya, lalu centang "sudah diperiksa, belum terkirim".'
    ),
    "bulk.heading": "Kirim ulang sekaligus",
    "bulk.confirm": (
        'Pengiriman "perlu diperiksa" yang ikut sudah saya periksa di tujuannya: belum terkirim'
    ),
    "bulk.selected": "Kirim ulang yang dipilih",
    "bulk.all": "Kirim ulang semua {count} di saringan ini",
    "bulk.all_detail": "({dead} gagal, {review} perlu diperiksa)",
    "bulk.all_hint": (
        "Pilih saluran atau OPD untuk mengirim ulang semua pengiriman gagalnya sekaligus."
    ),
    "bulk.none_selected": "Tidak ada pengiriman yang dipilih.",
    "bulk.done": "{count} pengiriman dijadwalkan ulang.",
    "bulk.unconfirmed": (
        "{count} pengiriman yang perlu diperiksa tidak dikirim ulang: periksa dulu tujuannya, lalu "
        'centang "sudah saya periksa".'
    ),
    "bulk.skipped": (
        "{count} pengiriman dilewati: statusnya sudah berubah, milik ronde sebelumnya, atau "
        "pesan bridge sendiri."
    ),
    # Complaint
    "complaint.opd": "OPD",
    "complaint.routed_by": "dirutekan menurut",
    "complaint.requested_opd": "OPD yang diminta",
    "complaint.category": "kategori",
    "complaint.round": "ronde",
    "complaint.flags": "sifat",
    "complaint.anonymous": "anonim",
    "complaint.named": "dengan nama",
    "complaint.confidential": "rahasia",
    "complaint.public_ok": "boleh di saluran publik",
    "complaint.submitted": "dikirim pelapor",
    "complaint.received": "diterima bridge",
    "complaint.updated": "diperbarui",
    "complaint.on_wadule": "di Wadule",
    "complaint.reporter": "Pelapor",
    "complaint.name": "nama",
    "complaint.phone": "telepon",
    "complaint.email": "email",
    "complaint.anonymous_note": (
        "Anonim: tidak ada pesan saluran yang menyebut atau menghubungi pelapor."
    ),
    "complaint.no_reporter": "Tidak ada data pelapor.",
    "complaint.location": "Lokasi",
    "location.address": "alamat",
    "location.village": "desa",
    "location.district": "kecamatan",
    "location.lat": "lintang",
    "location.lon": "bujur",
    "complaint.text": "Isi aduan",
    "complaint.attachments": "Lampiran",
    "complaint.deliveries": "Pengiriman",
    "complaint.no_deliveries": "Tidak ada pengiriman.",
    "complaint.history": "Riwayat",
    "col.round": "ronde",
    "col.external_id": "ID di penyedia",
    "col.sent": "terkirim",
    "col.at": "waktu",
    "col.by": "oleh",
    "col.note": "catatan",
    "routed.opd": "OPD yang diminta",
    "routed.category": "kategori",
    "routed.triage": "triase",
    # Responsiveness
    "opds.title": "Responsivitas OPD",
    "opds.help": (
        "Jumlah mencakup setiap aduan yang sekarang ditangani kantor itu. Median waktu ke "
        "jawaban pertama mencakup jawaban dalam {days} hari terakhir; jawaban pertama adalah "
        '"terima", atau status sesudahnya bila kantor melewatinya. Nilai mencakup aduan yang '
        "selesai dalam {days} hari terakhir, dihitung dalam hari kerja sejak diterima (setiap "
        "hari kerja yang dimulai dihitung penuh): cepat 1\N{EN DASH}{fast} hari, sedang "
        "{medium_from}\N{EN DASH}{medium} hari, lambat lebih dari itu, seperti di laporan "
        "mingguan. Setelah dialihkan, hitungan mulai saat kantor baru menerimanya."
    ),
    "col.open": "terbuka",
    "col.unacknowledged": "diteruskan, belum diterima",
    "col.delivery_failed": "gagal dikirim",
    "col.median": "median ke jawaban pertama",
    "col.answers": "jawaban",
    "grade.fast": "cepat",
    "grade.medium": "sedang",
    "grade.slow": "lambat",
    # Weekly report
    "report.title": "Laporan mingguan",
    "report.heading": "Laporan mingguan {week}",
    "report.range": "Senin {first} sampai Minggu {last} (WIB)",
    "report.partial": "Sementara: minggu ini belum selesai, angka sampai {when}.",
    "report.week": "Minggu ISO",
    "report.show": "Tampilkan",
    "report.previous": "\N{LEFTWARDS ARROW} {week}",
    "report.next": "{week} \N{RIGHTWARDS ARROW}",
    "report.csv": "Unduh CSV",
    "report.help": (
        "Per OPD aktif: aduan yang diterima dalam minggu ini, yang dijawab (jawaban pertama: "
        '"terima" atau status sesudahnya), median waktu kerja sampai jawaban pertama, aduan '
        "yang selesai dalam minggu ini menurut lamanya dalam hari kerja (cepat 1\N{EN DASH}"
        "{fast}, sedang {medium_from}\N{EN DASH}{medium}, lambat lebih dari {medium}), dan aduan "
        "terbuka yang melewati SLA. Angka kecil: perubahan dari minggu sebelumnya. Urutan "
        "awal: OPD yang perlu perhatian lebih dulu; klik judul kolom untuk mengurutkan."
    ),
    "report.offices": "OPD aktif",
    "report.attention": "perlu perhatian",
    "report.chart": "Grafik",
    "report.chart_full": "Buka grafik ukuran penuh (untuk diperbesar di ponsel)",
    "report.table": "Per OPD",
    "report.trend_help": (
        "Tren: median jawaban pertama tiap minggu dari {first} sampai {last}; garis putus-putus "
        "adalah SLA jawaban OPD itu."
    ),
    "report.trend_title": "{opd}: median jawaban pertama per minggu, {first} sampai {last}",
    "report.days": "{days} hari",
    "report.working_days": "{days} hari kerja",
    "report.working_hours": "{hours} jam kerja",
    "report.no_answer": "\N{EN DASH}",
    "report.change": "perubahan dari minggu sebelumnya",
    "report.own_sla": "SLA OPD sendiri: jawab {answer}, selesai {resolve}",
    "report.none": "tidak ada",
    "report.empty": "Tidak ada OPD aktif.",
    "report.bad_week": (
        'Minggu "{week}" tidak valid. Tulis tahun, W dan nomor minggu ISO dua angka yang ada '
        "di tahun itu, misalnya {example}."
    ),
    "report.not_started": (
        "Minggu {week} belum dimulai. Laporan ada untuk minggu ini ({current}) dan sebelumnya."
    ),
    "report.bad_sort": (
        "urutan tidak dikenal: sort harus salah satu dari {allowed}, dir asc atau desc."
    ),
    "col.rank": "peringkat",
    "col.trend": "tren 12 minggu",
    "col.received": "diterima",
    "col.answered": "dijawab",
    "col.median_first": "median jawaban pertama",
    "col.open_past_sla": "terbuka lewat SLA",
    "col.coverage": "saluran",
    "col.reasons": "perlu perhatian karena",
    "sort.asc": "naik",
    "sort.desc": "turun",
    "sort.by": "urutkan menurut {column}",
    "coverage.usable": "bisa dipakai",
    "coverage.unusable": "tidak bisa dipakai",
    "coverage.unchecked": "belum diperiksa",
    "coverage.absent": "tidak ada",
    "channel.whatsapp_group": "grup WhatsApp",
    "channel.facebook_page": "Facebook",
    "channel.instagram": "Instagram",
    "channel.x": "X",
    "short.whatsapp_group": "WA",
    "short.facebook_page": "FB",
    "short.instagram": "IG",
    "short.x": "X",
    "reason.open_past_sla": "{count} aduan terbuka melewati SLA",
    "reason.no_answer": ("tidak menjawab satu pun aduan ({count} menunggu jawaban melewati SLA)"),
    "reason.slow_answer": "median jawaban pertama {median} (SLA {sla})",
    "reason.slow_resolution": "{count} aduan selesai lambat (lebih dari {days} hari kerja)",
    "reason.channel_unusable": "saluran tidak dapat dipakai: {channels}",
    "reason.no_whatsapp_group": "tidak punya grup WhatsApp",
    "unit.d": "{count} hari kerja",
    "unit.h": "{count} jam kerja",
    "unit.m": "{count} menit kerja",
    "unit.s": "{count} detik kerja",
    # Channel checks
    "checks.title": "Pemeriksaan saluran",
    "checks.help": (
        "Hasil terakhir tiap saluran: apakah penyedianya bisa dipakai dengan kredensial saluran "
        "itu (sesi WAHA dan grupnya, bot Telegram, token Facebook/Instagram, akun X, alamat "
        "webhook). Pemeriksaan berjalan otomatis setiap hari pukul 06.30 WIB. Alasan ditulis "
        "oleh pemeriksa dalam bahasa Inggris."
    ),
    "checks.run": "Periksa sekarang",
    "checks.queued": (
        "Pemeriksaan semua saluran sudah dijadwalkan. Hasilnya muncul di halaman ini setelah "
        "pekerja selesai: muat ulang dalam satu atau dua menit."
    ),
    "checks.not_queued": (
        "Pemeriksaan tidak bisa dijadwalkan: broker antrean tidak menjawab. Jalankan "
        "wadule-bridge channels check di server."
    ),
    "checks.last": "Pemeriksaan terakhir: {when} ({ago} lalu).",
    "checks.never": "Belum pernah ada pemeriksaan saluran.",
    "checks.summary": (
        "{ok} baik, {warning} peringatan, {unusable} tidak bisa dipakai, {unchecked} belum "
        "diperiksa"
    ),
    "checks.unchecked": "belum diperiksa",
    "checks.empty": "Tidak ada saluran aktif.",
    "col.verdict": "hasil",
    "col.reason": "alasan",
    "col.checked": "diperiksa",
    # Sandbox
    "sandbox.title": "Kotak masuk sandbox",
    "sandbox.on": (
        "Mode sandbox aktif: setiap kiriman saluran masuk ke sini, bukan ke WhatsApp, Telegram "
        "atau webhook. Inilah yang akan diterima grup tiap OPD."
    ),
    "sandbox.off": (
        "Mode sandbox mati (BRIDGE_SANDBOX=0): saluran mengirim ke penyedia sungguhan dan tidak "
        "ada pesan baru yang masuk ke sini. Pesan di bawah berasal dari percobaan sandbox "
        "sebelumnya."
    ),
    "sandbox.empty": "Belum ada pesan sandbox.",
    # Relative times and durations
    "ago.future": "di masa depan",
    "ago.seconds": "{seconds} dtk",
    "ago.minutes": "{minutes} mnt",
    "ago.hours": "{hours} jam {minutes} mnt",
    "ago.days": "{days} hari {hours} jam",
    "hours": "{hours} jam",
    # Complaint statuses: the names OPD groups see (bridge.commands), one home for both.
    **{f"status.{value}": name for value, name in STATUS_ID.items()},
    # Delivery statuses
    "status.pending": "menunggu",
    "status.sending": "sedang dikirim",
    "status.sent": "terkirim",
    "status.delivered": "sampai",
    "status.read": "dibaca",
    "status.retrying": "akan dicoba lagi",
    "status.dead": "gagal",
    "status.needs_review": "perlu diperiksa",
    # Channel check verdicts
    "verdict.ok": "baik",
    "verdict.warning": "peringatan",
    "verdict.unusable": "tidak bisa dipakai",
    # Channel kinds
    "kind.whatsapp_group": "Grup WhatsApp",
    "kind.telegram": "Telegram",
    "kind.webhook": "Webhook",
    "kind.facebook_page": "Halaman Facebook",
    "kind.instagram": "Instagram",
    "kind.x": "X",
    # Delivery purposes
    "purpose.forward": "penerusan",
    "purpose.reopen": "dibuka kembali",
    "purpose.reroute": "pengalihan",
    "purpose.reply": "balasan bridge",
    "purpose.reminder": "pengingat SLA",
    "purpose.escalation": "eskalasi SLA",
    "purpose.report": "laporan mingguan",
}

EN: dict[str, str | tuple[str, str]] = {
    "console": "Console",
    "nav.label": "Menu",
    "nav.dashboard": "Dashboard",
    "nav.deliveries": "Deliveries",
    "nav.opds": "OPDs",
    "nav.report": "Weekly report",
    "nav.checks": "Channels",
    "nav.sandbox": "Sandbox",
    "find.placeholder": "Complaint id",
    "find.button": "Go",
    "logout": "Log out",
    "page": "page {page}",
    "newer": "\N{LEFTWARDS ARROW} Newer",
    "older": "Older \N{RIGHTWARDS ARROW}",
    "legend": "What the statuses mean (API values)",
    "login.title": "Log in",
    "login.heading": "Wadule Bridge console",
    "login.username": "Username",
    "login.password": "Password",
    "login.button": "Log in",
    "login.accounts": "Accounts are made on the server with:",
    "login.failed": "Unknown username or wrong password.",
    "login.backoff": "Too many failed log-ins. Wait {seconds} s before trying again.",
    "login.locked_account": (
        "This account is locked after too many failed log-ins. Try again after {until} "
        "(in {minutes} min), or ask an administrator to reset the password."
    ),
    "login.locked_address": (
        "Log-ins from your address are locked after too many failed attempts. "
        "Try again after {until} (in {minutes} min)."
    ),
    "logged_out": "You are logged out.",
    "error.back": "Back to the dashboard",
    "error.400": "Bad request",
    "error.403": "Forbidden",
    "error.404": "Not found",
    "error.405": "Method not allowed",
    "error.413": "Request too large",
    "error.429": "Too many attempts",
    "error.500": "Server error",
    "error.503": "Service unavailable",
    "error.other": "Error {code}",
    "error.generic": "This request cannot be served.",
    "error.csrf": "The form has expired or was not sent from this console. Reload the page.",
    "error.unavailable": "The database is not answering right now. Try again in a few seconds.",
    "error.no_complaint": "There is no complaint {wadule_id}.",
    "error.no_delivery": "There is no delivery {id}.",
    "error.bad_status": "status must be one of: {allowed}.",
    "error.bad_kind": "unknown channel: {kind}.",
    "error.bad_opd": "unknown OPD: {opd}.",
    "error.bad_page": "page must be a positive whole number.",
    "error.bad_ids": "the selected deliveries are not valid.",
    "error.too_many_ids": "at most {limit} deliveries can be retried at once.",
    "error.bad_scope": "choose a channel or an OPD before retrying all of them.",
    "dashboard.title": "Dashboard",
    "dashboard.heading": "Queue health",
    "dashboard.sandbox": (
        "Sandbox mode: channel sends land in the sandbox inbox, nothing reaches a provider."
    ),
    "dashboard.sandbox_link": "Open the sandbox inbox",
    "dashboard.due_now": "due now, not yet taken by a worker",
    "dashboard.oldest_due": "oldest due delivery has waited",
    "dashboard.unusable": "channels unusable (last check)",
    "dashboard.broker_ok": "ok",
    "dashboard.broker_down": "down",
    "dashboard.broker": "queue broker",
    "dashboard.by_channel": "Deliveries by channel and status",
    "dashboard.by_status": "Complaints by status",
    "dashboard.no_deliveries": "No deliveries yet.",
    "dashboard.no_complaints": "No complaints yet.",
    "col.channel": "channel",
    "col.total": "total",
    "col.all": "all",
    "deliveries.title": "Deliveries",
    "deliveries.heading": "Deliveries that need a person",
    "deliveries.failing": "needs review + dead",
    "deliveries.all_kinds": "All channels",
    "deliveries.all_opds": "All OPDs",
    "deliveries.filter": "Filter",
    "deliveries.help": (
        "The button on a row sends every dead or needs-review delivery of that complaint and "
        "channel again. A needs-review delivery may have been posted already: look at the group "
        "or account before you resend it."
    ),
    "deliveries.empty": "Nothing here.",
    "deliveries.earlier_round": "earlier round",
    "deliveries.notice": "bridge notice: not resent",
    "deliveries.select": "select {wadule_id} {kind}",
    "col.select": "select",
    "col.complaint": "complaint",
    "col.opd": "OPD",
    "col.target": "target",
    "col.status": "status",
    "col.attempts": "attempts",
    "col.last_error": "last error",
    "col.updated": "updated",
    "col.action": "action",
    "retry.retry": "Retry",
    "retry.resend": "Resend",
    "retry.checked": "checked, not posted",
    "retry.checked_hint": "The provider may have posted it already: look at the target first",
    "retry.done": (
        "Requeued {count} {kind} delivery of {wadule_id}.",
        "Requeued {count} {kind} deliveries of {wadule_id}.",
    ),
    "retry.earlier_round": (
        "Nothing to retry: this {kind} delivery of {wadule_id} belongs to an earlier routing round."
    ),
    "retry.not_failing": "Nothing to retry: the {kind} delivery of {wadule_id} is {status} now.",
    "retry.notice": "The bridge's own messages (answers in a group) are not resent.",
    "retry.needs_review": (
        "Not resent: a {kind} delivery of {wadule_id} needs review. Check that the target did "
        'not get it, then tick "checked, not posted".'
    ),
    "bulk.heading": "Retry several at once",
    "bulk.confirm": (
        "Needs-review deliveries included: I checked their targets, they were not posted"
    ),
    "bulk.selected": "Retry selected",
    "bulk.all": (
        "Retry the {count} delivery in this filter",
        "Retry all {count} deliveries in this filter",
    ),
    "bulk.all_detail": "({dead} dead, {review} needs review)",
    "bulk.all_hint": "Choose a channel or an OPD to retry all of its failing deliveries at once.",
    "bulk.none_selected": "No delivery was selected.",
    "bulk.done": ("Requeued {count} delivery.", "Requeued {count} deliveries."),
    "bulk.unconfirmed": (
        '{count} needs-review delivery was not resent: check its target, then tick "I checked".',
        "{count} needs-review deliveries were not resent: check their targets, then tick "
        '"I checked".',
    ),
    "bulk.skipped": (
        "{count} delivery was skipped: its status changed, it belongs to an earlier round, or it "
        "is the bridge's own notice.",
        "{count} deliveries were skipped: their status changed, they belong to an earlier "
        "round, or they are the bridge's own notices.",
    ),
    "complaint.opd": "OPD",
    "complaint.routed_by": "routed by",
    "complaint.requested_opd": "requested OPD",
    "complaint.category": "category",
    "complaint.round": "round",
    "complaint.flags": "flags",
    "complaint.anonymous": "anonymous",
    "complaint.named": "named",
    "complaint.confidential": "confidential",
    "complaint.public_ok": "public channels allowed",
    "complaint.submitted": "submitted",
    "complaint.received": "received",
    "complaint.updated": "updated",
    "complaint.on_wadule": "on Wadule",
    "complaint.reporter": "Reporter",
    "complaint.name": "name",
    "complaint.phone": "phone",
    "complaint.email": "email",
    "complaint.anonymous_note": "Anonymous: no channel message names or contacts the reporter.",
    "complaint.no_reporter": "No reporter details.",
    "complaint.location": "Location",
    "location.address": "address",
    "location.village": "village",
    "location.district": "district",
    "location.lat": "lat",
    "location.lon": "lon",
    "complaint.text": "Complaint text",
    "complaint.attachments": "Attachments",
    "complaint.deliveries": "Deliveries",
    "complaint.no_deliveries": "No deliveries.",
    "complaint.history": "History",
    "col.round": "round",
    "col.external_id": "external id",
    "col.sent": "sent",
    "col.at": "at",
    "col.by": "by",
    "col.note": "note",
    "routed.opd": "requested OPD",
    "routed.category": "category",
    "routed.triage": "triage",
    "opds.title": "OPD responsiveness",
    "opds.help": (
        "Counts cover every complaint now assigned to the office. The median time to the first "
        "answer covers answers in the last {days} days; the first answer is terima, or a later "
        "status when the office skipped it. Grades cover complaints resolved in the last {days} "
        "days, counted in working days from receipt (each working day begun counts whole): "
        "cepat 1\N{EN DASH}{fast} days, sedang {medium_from}\N{EN DASH}{medium}, lambat more, "
        "as in the weekly report. After a re-route the clock starts "
        "when the new office received it."
    ),
    "col.open": "open",
    "col.unacknowledged": "forwarded, not acknowledged",
    "col.delivery_failed": "delivery failed",
    "col.median": "median to first answer",
    "col.answers": "answers",
    "grade.fast": "fast",
    "grade.medium": "medium",
    "grade.slow": "slow",
    "report.title": "Weekly report",
    "report.heading": "Weekly report {week}",
    "report.range": "Monday {first} to Sunday {last} (WIB)",
    "report.partial": "Provisional: this week is not over, figures as of {when}.",
    "report.week": "ISO week",
    "report.show": "Show",
    "report.previous": "\N{LEFTWARDS ARROW} {week}",
    "report.next": "{week} \N{RIGHTWARDS ARROW}",
    "report.csv": "Download CSV",
    "report.help": (
        "Per active OPD: complaints received in the week, answered (the first answer: terima "
        "or a later status), the median working time to the first answer, complaints resolved "
        "in the week graded by their working days (cepat 1\N{EN DASH}{fast}, sedang "
        "{medium_from}\N{EN DASH}{medium}, lambat more than {medium}), and open complaints "
        "past their SLA. Small figures: the change from the previous week. First order: the "
        "OPDs needing attention first; click a column heading to sort."
    ),
    "report.offices": "active OPDs",
    "report.attention": "need attention",
    "report.chart": "Chart",
    "report.chart_full": "Open the chart full size (to zoom on a phone)",
    "report.table": "Per OPD",
    "report.trend_help": (
        "Trend: the median first answer of each week from {first} to {last}; the dashed line "
        "is the OPD's answer SLA."
    ),
    "report.trend_title": "{opd}: median first answer per week, {first} to {last}",
    "report.days": "{days} d",
    "report.working_days": "{days} working days",
    "report.working_hours": "{hours} working hours",
    "report.no_answer": "\N{EN DASH}",
    "report.change": "change from the previous week",
    "report.own_sla": "The OPD's own SLA: answer {answer}, resolve {resolve}",
    "report.none": "none",
    "report.empty": "No active OPDs.",
    "report.bad_week": (
        'Week "{week}" is not valid. Write the year, W and the two-digit ISO week number that '
        "exists in that year, e.g. {example}."
    ),
    "report.not_started": (
        "Week {week} has not begun yet. Reports exist for this week ({current}) and earlier."
    ),
    "report.bad_sort": "unknown order: sort must be one of {allowed}, dir asc or desc.",
    "col.rank": "rank",
    "col.trend": "12-week trend",
    "col.received": "received",
    "col.answered": "answered",
    "col.median_first": "median first answer",
    "col.open_past_sla": "open past SLA",
    "col.coverage": "channels",
    "col.reasons": "needs attention because",
    "sort.asc": "ascending",
    "sort.desc": "descending",
    "sort.by": "sort by {column}",
    "coverage.usable": "usable",
    "coverage.unusable": "unusable",
    "coverage.unchecked": "not checked",
    "coverage.absent": "none",
    "channel.whatsapp_group": "WhatsApp group",
    "channel.facebook_page": "Facebook",
    "channel.instagram": "Instagram",
    "channel.x": "X",
    "short.whatsapp_group": "WA",
    "short.facebook_page": "FB",
    "short.instagram": "IG",
    "short.x": "X",
    "reason.open_past_sla": (
        "{count} open complaint past its SLA",
        "{count} open complaints past their SLA",
    ),
    "reason.no_answer": (
        "answered no complaint ({count} waiting past the answer SLA)",
        "answered no complaint ({count} waiting past the answer SLA)",
    ),
    "reason.slow_answer": "median first answer {median} (SLA {sla})",
    "reason.slow_resolution": (
        "{count} complaint resolved slowly (more than {days} working days)",
        "{count} complaints resolved slowly (more than {days} working days)",
    ),
    "reason.channel_unusable": "channels unusable: {channels}",
    "reason.no_whatsapp_group": "no WhatsApp group",
    "unit.d": ("{count} working day", "{count} working days"),
    "unit.h": ("{count} working hour", "{count} working hours"),
    "unit.m": ("{count} working minute", "{count} working minutes"),
    "unit.s": ("{count} working second", "{count} working seconds"),
    "checks.title": "Channel checks",
    "checks.help": (
        "Each channel's last check: whether its provider can be used with the channel's own "
        "credentials (the WAHA session and its group, the Telegram bot, the Facebook/Instagram "
        "token, the X account, the webhook address). Checks run by themselves every day at "
        "06:30 WIB."
    ),
    "checks.run": "Check now",
    "checks.queued": (
        "A check of every channel is queued. Results appear on this page once a worker has run "
        "it: reload in a minute or two."
    ),
    "checks.not_queued": (
        "The check could not be queued: the queue broker does not answer. Run "
        "wadule-bridge channels check on the server."
    ),
    "checks.last": "Last check: {when} ({ago} ago).",
    "checks.never": "No channel has been checked yet.",
    "checks.summary": "{ok} ok, {warning} warning, {unusable} unusable, {unchecked} not checked",
    "checks.unchecked": "not checked",
    "checks.empty": "No active channels.",
    "col.verdict": "verdict",
    "col.reason": "reason",
    "col.checked": "checked",
    "sandbox.title": "Sandbox inbox",
    "sandbox.on": (
        "Sandbox mode is on: every channel send lands here instead of WhatsApp, Telegram or a "
        "webhook. This is what each OPD's group would receive."
    ),
    "sandbox.off": (
        "Sandbox mode is off (BRIDGE_SANDBOX=0): channels send to the real providers and nothing "
        "new arrives here. Messages below are from earlier sandbox runs."
    ),
    "sandbox.empty": "No sandbox messages yet.",
    "ago.future": "in the future",
    "ago.seconds": "{seconds} s",
    "ago.minutes": "{minutes} min",
    "ago.hours": "{hours} h {minutes} min",
    "ago.days": "{days} d {hours} h",
    "hours": "{hours} h",
    "status.received": "received",
    "status.forwarded": "forwarded",
    "status.delivery_failed": "delivery failed",
    "status.acknowledged": "acknowledged",
    "status.in_progress": "in progress",
    "status.resolved": "resolved",
    "status.rejected": "rejected",
    "status.reopened": "reopened",
    "status.pending": "pending",
    "status.sending": "sending",
    "status.sent": "sent",
    "status.delivered": "delivered",
    "status.read": "read",
    "status.retrying": "retrying",
    "status.dead": "dead",
    "status.needs_review": "needs review",
    "verdict.ok": "ok",
    "verdict.warning": "warning",
    "verdict.unusable": "unusable",
    "kind.whatsapp_group": "WhatsApp group",
    "kind.telegram": "Telegram",
    "kind.webhook": "Webhook",
    "kind.facebook_page": "Facebook Page",
    "kind.instagram": "Instagram",
    "kind.x": "X",
    "purpose.forward": "forward",
    "purpose.reopen": "reopen",
    "purpose.reroute": "re-route",
    "purpose.reply": "bridge answer",
    "purpose.reminder": "SLA reminder",
    "purpose.escalation": "SLA escalation",
    "purpose.report": "weekly report",
}

CATALOGUES: dict[str, dict[str, str | tuple[str, str]]] = {"id": ID, "en": EN}


def fields_of(template: str) -> set[str]:
    """The names a ``str.format`` template fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Words:
    """The console's words and formats in one language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.catalogue = CATALOGUES[language]

    def __call__(self, key: str, count: int | None = None, **fields: object) -> str:
        """The entry ``key`` filled in. An unknown key raises ``KeyError``: a typo in a
        template fails its page (and its test) instead of showing a key to a person."""
        entry = self.catalogue[key]
        if isinstance(entry, tuple):
            entry = entry[0] if count == 1 else entry[1]
        if count is not None:
            fields["count"] = count
        return entry.format(**fields)

    def _named(self, prefix: str, value: object) -> str:
        entry = self.catalogue.get(f"{prefix}.{value}")
        return str(value) if entry is None else str(entry)

    def status(self, value: object) -> str:
        """A complaint or delivery status's name (the two sets of values do not overlap)."""
        return self._named("status", value)

    def kind(self, value: object) -> str:
        """A channel kind's name."""
        return self._named("kind", value)

    def verdict(self, value: object) -> str:
        """A channel check's verdict."""
        return self._named("verdict", value)

    def when(self, value: dt.datetime | None) -> str:
        """A moment in WIB, e.g. ``20 Nov 2026 08.15 WIB`` (``08:15`` in English)."""
        if value is None:
            return MISSING
        if self.language == "id":
            return format_wib(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # the database stores UTC
        local = value.astimezone(WIB)
        return f"{local.day} {_EN_MONTHS[local.month - 1]} {local.year} {local:%H:%M} WIB"

    def ago(self, value: dt.datetime | None, now: dt.datetime | None = None) -> str:
        """How long ago ``value`` was, to the unit that matters (``3 jam 4 mnt``)."""
        if value is None:
            return MISSING
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        seconds = int(((now or utcnow()) - value).total_seconds())
        if seconds < 0:
            return self("ago.future")
        if seconds < 90:
            return self("ago.seconds", seconds=seconds)
        minutes = seconds // 60
        if minutes < 90:
            return self("ago.minutes", minutes=minutes)
        hours, minutes = divmod(minutes, 60)
        if hours < 48:
            return self("ago.hours", hours=hours, minutes=minutes)
        return self("ago.days", days=hours // 24, hours=hours % 24)

    def number(self, value: float, places: int = 1) -> str:
        """``0.75`` -> ``0,8`` (``0.8`` in English): halves round up, as the report writes."""
        text = report_format.number(value, places)
        return text if self.language == "id" else text.replace(",", ".")

    def signed(self, delta: float | None, places: int = 0) -> str:
        """A change from the week before: ``+3``, ``-2``, ``±0``; a dash when unknown."""
        text = report_format.signed(delta, places)
        return text if self.language == "id" else text.replace(",", ".")

    def duration(self, value: Duration) -> str:
        """An SLA span: ``1 hari kerja``, ``4 working hours``."""
        return self(f"unit.{value.unit}", count=value.amount)

    def channel(self, kind: str) -> str:
        """A covered channel kind as the weekly report names it (``grup WhatsApp``)."""
        return self._named("channel", kind)

    def date(self, value: dt.date) -> str:
        """``2 Mar 2026`` with the language's month names."""
        months = report_format.MONTHS if self.language == "id" else _EN_MONTHS
        return f"{value.day} {months[value.month - 1]} {value.year}"

    def hours(self, value: float | None) -> str:
        """Hours to one decimal, with the language's decimal mark (``6,5 jam``)."""
        if value is None or math.isnan(value):
            return MISSING
        figure = f"{value:.1f}"
        if self.language == "id":
            figure = figure.replace(".", ",")
        return self("hours", hours=figure)


def words() -> Words:
    """The words of the current app's console language (``BRIDGE_CONSOLE_LANGUAGE``)."""
    return Words(current_app.config["BRIDGE_SETTINGS"].console_language)
