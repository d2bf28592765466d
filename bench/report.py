"""How every benchmark prints: one line per figure, with its target."""

from __future__ import annotations


def figure(label: str, value: str, target: str) -> None:
    print(f"  {label:<48} {value:>12}  (target {target})")


def verdict(ok: bool) -> None:
    print("  " + ("MEETS TARGETS" if ok else "MISSES TARGETS"))
