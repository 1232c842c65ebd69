"""Run by the hostile-input tests in a fresh process: read a book and plan its units, then report
time and memory as one JSON line on stdout (the only thing printed there)."""

from __future__ import annotations

import json
import resource
import sys
import time


def _vm_kb(field: str) -> float:
    """``VmHWM``/``VmRSS`` of this process in KiB. Unlike ru_maxrss, VmHWM starts afresh at exec, so a
    child of a big pytest process does not inherit its parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main(path: str) -> int:
    from tui.book.ingest import load_book
    from tui.book.model import BookError
    from tui.book.units import make_units, units_target_for

    base_rss = _vm_kb("VmRSS")
    started = time.perf_counter()
    report: dict = {}
    try:
        book = load_book(path)
        total = sum(len(ch.text) for ch in book.chapters)
        units = make_units(book, engine_key="piper:test", target_chars=units_target_for(total, 2))
        report.update(ok=True, chapters=len(book.chapters), units=len(units), chars=total,
                      texts=[ch.text[:200] for ch in book.chapters[:3]], warnings=book.warnings[:5])
    except BookError as exc:
        report.update(ok=False, error=str(exc))
    report["seconds"] = time.perf_counter() - started
    report["peak_rss_mb"] = _vm_kb("VmHWM") / 1024
    report["rss_growth_mb"] = (_vm_kb("VmHWM") - base_rss) / 1024
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
