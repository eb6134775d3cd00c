"""The ``--seeds`` argument of the benches that draw their inputs from seeds: ``1-24`` or ``3,7,10-12``.

    >>> parse_seeds("3,7,10-12")
    [3, 7, 10, 11, 12]
"""

from __future__ import annotations


def parse_seeds(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        out += list(range(int(low), int(high or low) + 1))
    return out
