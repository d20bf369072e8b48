"""How the read APIs scale with the table: two result files, one table.

    python -m bench.compare bench/results/<1M>.json bench/results/<10M>.json

For each backend and read it prints requests/s and p99 at both scales and the
slowdown (requests/s of the smaller run over the larger's); the target is at
most 1.5x: the cost of a read grows with the size of its answer, not of the
table.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

TARGET = 1.5


def slowdowns(small: dict[str, Any], large: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, smaller run, larger run, slowdown) for every read both runs measured."""
    table: list[tuple[str, str, str, str]] = []
    for kind in ("postgresql", "sqlite"):
        if kind not in small or kind not in large:
            continue
        for name, before in small[kind]["reads"].items():
            after = large[kind]["reads"].get(name)
            if after is None:
                continue
            table.append(
                (
                    f"[{kind}] {name}",
                    f"{before['ok_per_s']:,.0f} req/s (p99 {before['p99_ms']:.1f} ms)",
                    f"{after['ok_per_s']:,.0f} req/s (p99 {after['p99_ms']:.1f} ms)",
                    f"{before['ok_per_s'] / after['ok_per_s']:.2f}x"
                    if after["ok_per_s"]
                    else "no answer in time",
                )
            )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("smaller", type=Path)
    parser.add_argument("larger", type=Path)
    args = parser.parse_args()
    small = orjson.loads(args.smaller.read_bytes())
    large = orjson.loads(args.larger.read_bytes())
    head = (
        "read",
        f"at {small['scale']:,}",
        f"at {large['scale']:,}",
        f"slowdown (<= {TARGET}x)",
    )
    lines = [head, *slowdowns(small, large)]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
