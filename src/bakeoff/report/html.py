"""Self-contained HTML rendering: inline CSS and SVG, no script, nothing fetched from a network.

Everything that comes from a model or a dataset is escaped by report.blocks.
"""

from __future__ import annotations

from bakeoff.report import blocks
from bakeoff.report.model import ReportModel
from bakeoff.report.sections import build_sections
from bakeoff.report.text import untrusted_html

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1d1d1d;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #d0d0d0;padding:.3em .55em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.better{color:#245c10}.nosig{color:#666}
pre,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5em;margin:0}
.ok{color:#245c10}.bad{color:#a40000}.muted{color:#666}
.charts{display:flex;flex-wrap:wrap;gap:1em}
ul.rec{margin:.4em 0 1em 1.2em;padding:0}ul.rec li{margin:.25em 0}
@page{size:A4;margin:12mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt;color:#000}
h1{font-size:16pt}h2{page-break-after:avoid;margin-top:1.2em}h3{page-break-after:avoid}
table{font-size:7.5pt;max-width:100%;page-break-inside:auto}tr,svg{page-break-inside:avoid}
th,td{padding:.15em .3em}td.num{white-space:nowrap}
pre,code{overflow-wrap:anywhere}pre{font-size:7pt;background:none;padding:0}
.charts{display:block}svg{max-width:100%;height:auto}
.better{color:#000;font-weight:bold}.nosig{color:#333}.muted{color:#333}}
"""


def render_html(report: ReportModel) -> str:
    title = f"bakeoff report: {' vs '.join(report.models)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No network: the policy forbids every fetch; styles are inline.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{untrusted_html(title)}</title><style>{CSS}</style></head><body>",
        blocks.html(build_sections(report)),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
