"""Render the PDF of a seed with its producer: ``python -m tests.producers.make DIR [SEED ...]``.

    >>> pdf_name(layout_for(4))
    'seed-04-chromium.pdf'
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from .layout import CI_SEEDS, Layout, layout_for


def pdf_name(layout: Layout) -> str:
    return f"seed-{layout.seed:02d}-{layout.producer}.pdf"


def render(layout: Layout, folder: Path) -> Path:
    """Write the layout's PDF into ``folder`` with its producer (``tests/producers/<producer>.py``)."""
    folder.mkdir(parents=True, exist_ok=True)
    producer = importlib.import_module(f"{__package__}.{layout.producer}")
    return producer.render(layout, folder / pdf_name(layout))


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path("build/producers")
    for seed in [int(s) for s in argv[1:]] or CI_SEEDS:
        layout = layout_for(seed)
        print(render(layout, folder), layout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
