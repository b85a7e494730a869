"""Self-contained HTML rendering of the document model (report.blocks): inline CSS and SVG, no
script, nothing fetched from a network. For the guide (report.sections) and for the speed lab's
own page (report.speed_lab).

Everything that comes from a model or a dataset is escaped here (text) or by report.svg.
"""

from __future__ import annotations

from collections.abc import Sequence

from bakeoff.report.blocks import (
    Block,
    Bullets,
    Code,
    Figure,
    Group,
    Heading,
    Inline,
    Notes,
    Para,
    Pre,
    Strong,
    Table,
)
from bakeoff.report.model.speed_lab import SpeedSection
from bakeoff.report.model.view import ReportModel
from bakeoff.report.sections import build_sections
from bakeoff.report.speed_lab import speed_lab_blocks
from bakeoff.report.text import untrusted_html

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1d1d1d;line-height:1.45;overflow-wrap:anywhere}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
.wide{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em;overflow-wrap:normal}
th,td{border:1px solid #d0d0d0;padding:.3em .55em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.better{color:#245c10}.nosig{color:#666}
pre,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5em;margin:0}
.ok{color:#245c10}.bad{color:#a40000}.muted{color:#666}
.charts{display:flex;flex-wrap:wrap;align-items:flex-start;gap:1em;margin:.8em 0}
.charts svg{max-width:100%;height:auto}
ul.rec{margin:.4em 0 1em 1.2em;padding:0}ul.rec li{margin:.25em 0}
@page{size:A4;margin:12mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt;color:#000}
h1{font-size:16pt}h2{page-break-after:avoid;margin-top:1.2em}h3{page-break-after:avoid}
.wide{overflow:visible}
table{font-size:7.5pt;max-width:100%;page-break-inside:auto}tr,svg{page-break-inside:avoid}
th,td{padding:.15em .3em}td.num{white-space:nowrap}
pre,code{overflow-wrap:anywhere}pre{font-size:7pt;background:none;padding:0}
.charts{display:block}svg{max-width:100%;height:auto}
.better{color:#000;font-weight:bold}.nosig{color:#333}.muted{color:#333}}
"""
# No network: the policy forbids every fetch; styles are inline.
CSP_META = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline'; img-src data:\">"
)

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def render_html(report: ReportModel) -> str:
    title = f"bakeoff report: {' vs '.join(report.models)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        CSP_META,
        VIEWPORT,
        f"<title>{untrusted_html(title)}</title><style>{CSS}</style></head><body>",
        html(build_sections(report)),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def speed_html_page(section: SpeedSection) -> str:
    """The speed lab's report as a page of its own (``bakeoff speed --report``)."""
    title = "bakeoff speed: " + " vs ".join(m.label for m in section.models)
    body = Group((Heading(1, title), *speed_lab_blocks(section, level=2)))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{CSP_META}{VIEWPORT}'
        f"<title>{untrusted_html(title)}</title><style>{CSS}</style></head><body>"
        f"{html([body])}</body></html>"
    )


def html(blocks: Sequence[Block]) -> str:
    return "\n".join(_block(block) for block in blocks)


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        anchor = f' id="{untrusted_html(block.anchor)}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{untrusted_html(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        css = ' class="muted"' if block.muted else ""
        return f"<p{css}>{''.join(_inline(p) for p in block.parts)}</p>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Pre):
        return f"<pre>{untrusted_html(block.text)}</pre>"
    if isinstance(block, Figure):
        return f'<div class="charts">{"".join(chart.svg for chart in block.charts)}</div>'
    if isinstance(block, Bullets):
        items = "".join(f"<li>{''.join(_inline(p) for p in item)}</li>" for item in block.items)
        return f'<ul class="rec">{items}</ul>'
    if isinstance(block, Notes):
        return "".join(f"<p>{untrusted_html(line)}</p>" for line in block.lines)
    # A Group: its blocks one after another, no line between them.
    return "".join(_block(child) for child in block.blocks)


def _inline(part: Inline) -> str:
    if isinstance(part, Code):
        return f"<code>{untrusted_html(part.text)}</code>"
    if isinstance(part, Strong):
        text = untrusted_html(part.text)
        if part.text.startswith("no significant"):
            return f'<strong class="nosig">{text}</strong>'
        if part.text.endswith((" better", " faster")):
            return f'<strong class="better">{text}</strong>'
        return f"<strong>{text}</strong>"
    return untrusted_html(part)


def _table(table: Table) -> str:
    head = "".join(f"<th>{untrusted_html(h)}</th>" for h in table.header)
    body = []
    for row in table.rows:
        cells = []
        for i, cell in enumerate(row):
            if i >= table.long_text_from:
                cells.append(f"<td><pre>{_inline(cell)}</pre></td>")
            elif i >= table.numeric_from:
                cells.append(f'<td class="num">{_inline(cell)}</td>')
            else:
                cells.append(f"<td>{_inline(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    # A wide table scrolls in its own box on a narrow screen, never the page.
    return (
        f'<div class="wide"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
