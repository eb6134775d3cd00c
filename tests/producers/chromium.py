"""A correlation-table PDF printed by Chromium (through playwright) from an HTML ``<table>``.

Chromium does all the layout: line breaking in the cells, page breaks (rows may split across pages,
``tr { break-inside: auto }``), the ``<thead>`` repeated on every printed page, and the footer page
numbers. This module only writes the HTML from the layout's table. It imports nothing of ``pipeline``.

What Chromium (Skia) draws: every border as a thin filled rectangle (pdfplumber ``rects``, no ``lines``);
a row split by a page break has no rule at the page bottom, and its continuation on the next page sits
right under the repeated header's rule with the vertical borders carried on; a ``rowspan`` cell cut by
a page break keeps its text on the first page only. The PDF's dates differ from run to run; its text
and geometry do not.

    python -m tests.producers.chromium SEED OUT.pdf
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

from .layout import HEADER_LABELS, HEADER_VOLUMES, TITLE, Layout, layout_for, spans, table

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
MARGIN_MM = (12, 12, 14, 12)  # top, right, bottom (room for the footer), left


def _cell(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def document(layout: Layout) -> str:
    """The HTML page for a layout: a ruled table with a repeated header, spans as ``rowspan``."""
    cells = table(layout)
    span = spans(cells)
    skip = {(row + n, column) for (row, column), count in span.items() for n in range(1, count)}
    total = sum(layout.widths)
    cols = "".join(f'<col style="width:{w / total * 100:.4f}%">' for w in layout.widths)
    head = []
    if layout.header_levels == 2:
        head.append("<tr>" + "".join(f'<th colspan="{n}">{html.escape(name)}</th>' for name, n in HEADER_VOLUMES) + "</tr>")
    head.append("<tr>" + "".join(f"<th>{html.escape(label)}</th>" for label in HEADER_LABELS) + "</tr>")
    body = []
    for r, row in enumerate(cells):
        tds = []
        for c, text in enumerate(row):
            if (r, c) in skip:
                continue
            rowspan = f' rowspan="{span[(r, c)]}"' if (r, c) in span else ""
            tds.append(f"<td{rowspan}>{_cell(text)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    top, right, bottom, left = MARGIN_MM
    title = f"<h1>{html.escape(TITLE)}</h1>" if layout.title else ""
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{html.escape(TITLE)}</title>
<style>
@page {{ size: {layout.page} landscape; margin: {top}mm {right}mm {bottom}mm {left}mm; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: "{layout.font_name}"; font-size: {layout.font_size}pt; line-height: 1.3; color: #000; }}
h1 {{ font-size: {layout.font_size * 1.5:.1f}pt; font-weight: normal; margin: 0 0 {layout.font_size:.1f}pt 0; }}
table {{ width: 100%; table-layout: fixed; border-collapse: collapse; }}
th, td {{ border: 1px solid #000; padding: {layout.padding}pt; vertical-align: top; text-align: left;
          font-weight: normal; overflow-wrap: anywhere; }}
th {{ text-align: center; vertical-align: middle; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: auto; }}
</style></head>
<body>{title}
<table><colgroup>{cols}</colgroup>
<thead>{"".join(head)}</thead>
<tbody>
{chr(10).join(body)}
</tbody></table>
</body></html>
"""


def render(layout: Layout, path: Path) -> Path:
    """Print the layout's table to ``path`` with Chromium; return ``path``."""
    from playwright.sync_api import sync_playwright

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    footer = ('<div style="width:100%; text-align:center; font-size:8pt; font-family:IPAGothic;">'
              '- <span class="pageNumber"></span> -</div>')
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.set_content(document(layout), wait_until="load")
            page.evaluate("document.fonts.ready.then(() => true)")
            page.pdf(path=str(path), prefer_css_page_size=True, print_background=True,
                     display_header_footer=layout.footer,
                     header_template="<div></div>", footer_template=footer if layout.footer else "<div></div>")
        finally:
            browser.close()
    return path


if __name__ == "__main__":
    seed, out = int(sys.argv[1]), Path(sys.argv[2])
    print(render(layout_for(seed), out))
