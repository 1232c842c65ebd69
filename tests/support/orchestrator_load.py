"""Shared by bench/cluster_load.py and bench/soak.py: a generated book, tone workers in other
processes, and one real RunSession measured from inside the orchestrator process.

What is measured is this process only: CPU from ``getrusage(RUSAGE_SELF)`` (ffmpeg and other
children separately from ``RUSAGE_CHILDREN``), peak RSS from ``VmHWM``, RSS sampled once a
second, open file descriptors and child processes before and after the run.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import resource
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.book_helpers import make_prose_epub  # noqa: E402

from tui.core import events as ev  # noqa: E402
from tui.core.options import RunOptions  # noqa: E402
from tui.core.session import RunSession  # noqa: E402
from tui.core.static import StaticCluster  # noqa: E402

_WORDS = ("river stone miller water morning hill daughter account wheel summer night rain window lamp "
          "harbour boat rope lantern field orchard letter candle garden bridge island forest road village "
          "market winter kettle ladder shadow clock storm valley meadow chimney cellar attic").split()
_VERBS = "walked watched counted carried followed crossed mended opened noticed remembered".split()


def make_book(path: Path, words: int, chapters: int = 20, seed: int = 7) -> tuple[Path, int]:
    """An EPUB of about ``words`` words of plain prose (no two sentences alike); returns (path, words)."""
    rng = random.Random(seed)
    per_chapter = max(1, words // chapters)
    book, total, n = [], 0, 0
    for c in range(chapters):
        paragraphs, in_chapter = [], 0
        while in_chapter < per_chapter:
            sentences = []
            for _ in range(rng.randint(3, 6)):
                n += 1
                body = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 10)))
                sentence = f"On day {n} the {rng.choice(_WORDS)} {rng.choice(_VERBS)} the {body}."
                sentences.append(sentence[0].upper() + sentence[1:])
                in_chapter += len(sentence.split())
            paragraphs.append(" ".join(sentences))
        total += in_chapter
        book.append(paragraphs)
    return make_prose_epub(path, book, title=f"Load {words} words"), total


class ToneWorkers:
    """``procs`` processes of tests/support/tone_workers.py hosting ``count`` worker apps in all."""

    def __init__(self, count: int, procs: int, speed: Optional[float], rate: int) -> None:
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []
        per = [count // procs + (1 if i < count % procs else 0) for i in range(procs)]
        for n in per:
            if not n:
                continue
            args = [sys.executable, str(ROOT / "tests" / "support" / "tone_workers.py"), "--count", str(n), "--rate", str(rate)]
            if speed is not None:
                args += ["--speed", str(speed)]
            self.procs.append(subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                               text=True))
        for proc in self.procs:
            self.ports += self._read_ports(proc)

    @staticmethod
    def _read_ports(proc: subprocess.Popen, timeout: float = 120.0) -> list[int]:
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                line = proc.stdout.readline()
                if line.startswith("E2A_TONE_PORTS="):
                    selector.close()
                    return [int(p) for p in line.strip().split("=", 1)[1].split(",")]
                if not line:
                    break
        selector.close()
        raise SystemExit("tone workers did not start")

    @property
    def pids(self) -> set[int]:
        return {p.pid for p in self.procs}

    @property
    def spec(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self.procs:
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
        return total

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def proc_status(key: str) -> int:
    """A ``kB`` field of /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def open_fds() -> dict[int, str]:
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass
    return out


def children(exclude: set[int]) -> list[str]:
    """Live processes whose parent is this one, except ``exclude`` (pid and command)."""
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in exclude:
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == me:
                out.append(f"{entry} {stat.split('(', 1)[1].split(')', 1)[0]}")
        except (OSError, ValueError, IndexError):
            pass
    return out


def cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


@dataclass
class Marks:
    t: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)
    units_done: int = 0
    failures: int = 0
    events: int = 0
    reasons: dict = field(default_factory=dict)  # failure text (numbers masked) -> count
    downs: int = 0

    def mark(self, name: str) -> None:
        self.t[name] = time.monotonic()
        self.cpu[name] = cpu(resource.getrusage(resource.RUSAGE_SELF))

    def on_event(self, event) -> None:
        self.events += 1
        if isinstance(event, ev.RunStarted):
            self.mark("started")
        elif isinstance(event, ev.UnitDone):
            self.units_done += 1
            self.mark("last_unit")
        elif isinstance(event, (ev.AttemptFailed, ev.AttemptLost)):
            self.failures += 1
            key = type(event).__name__ + ": " + re.sub(r"\d+", "N", event.error)[:140]
            self.reasons[key] = self.reasons.get(key, 0) + 1
        elif isinstance(event, ev.WorkerStateChanged) and event.state == "down":
            self.downs += 1
        elif isinstance(event, ev.AssemblyStarted):
            self.mark("assembly")


class RssSampler(threading.Thread):
    def __init__(self, period: float = 1.0) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.period = period
        self.samples: list[tuple[float, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.monotonic(), proc_status("VmRSS")))
            self._halt.wait(self.period)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def rss_at(samples: list[tuple[float, int]], t: float) -> int:
    best = min(samples, key=lambda s: abs(s[0] - t)) if samples else (0, 0)
    return best[1]


async def measured_run(*, workers: int, procs: int, words: int, speed: Optional[float], rate: int, fmt: str,
                       telemetry: float, chapters: int, keep: Optional[Path] = None,
                       profile: Optional[Path] = None, shared_ssl: bool = False) -> dict:
    """Generate the book, start the workers, run one RunSession here; every number in one dict.

    ``shared_ssl``: a what-if, in this process only: every httpx client the orchestrator builds
    reuses one SSL context instead of loading the CA bundle again (WorkerClient does the latter).
    """
    if shared_ssl:
        _share_ssl_context()
    tmp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="e2a-load-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        return await _measured_run_in(tmp, workers=workers, procs=procs, words=words, speed=speed, rate=rate,
                                      fmt=fmt, telemetry=telemetry, chapters=chapters, profile=profile)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


async def _measured_run_in(tmp: Path, *, workers: int, procs: int, words: int, speed: Optional[float], rate: int,
                           fmt: str, telemetry: float, chapters: int, profile: Optional[Path]) -> dict:
    t_book = time.monotonic()
    book, real_words = make_book(tmp / "book.epub", words, chapters=chapters)
    book_seconds = time.monotonic() - t_book
    pool = ToneWorkers(workers, procs, speed, rate)
    try:
        gc.collect()
        fds_before = open_fds()
        threads_before = threading.active_count()
        children_before = children(pool.pids)
        rss_before = proc_status("VmRSS")
        marks = Marks()
        sampler = RssSampler()
        sampler.start()
        options = RunOptions(input=book, output=tmp / f"out.{fmt}", fmt=fmt, engine="tone",
                             telemetry_interval=telemetry)
        session = RunSession(options, StaticCluster(pool.spec, warn=None))
        session.subscribe(marks.on_event)
        workers_cpu0 = pool.cpu_seconds()
        profiler = None
        if profile is not None:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        marks.mark("begin")
        result = await session.run()
        marks.mark("end")
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        workers_cpu = pool.cpu_seconds() - workers_cpu0
        child_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        sampler.stop()
        peak = proc_status("VmHWM")
        rss_end = proc_status("VmRSS")
        del session
        gc.collect()
        fds_after = open_fds()
        threads_after = threading.active_count()
        thread_names = sorted(t.name for t in threading.enumerate())
        children_after = children(pool.pids)
    finally:
        pool.stop()
    out_bytes = sum(Path(p).stat().st_size for p in result.outputs if Path(p).exists())
    samples = sampler.samples
    t = marks.t
    synth_t0, synth_t1 = t.get("started", t["begin"]), t.get("last_unit", t["end"])
    quarter = [rss_at(samples, synth_t0 + f * (synth_t1 - synth_t0)) for f in (0.25, 0.5, 0.75, 1.0)]
    return {
        "book": book, "words": real_words, "book_seconds": book_seconds, "result": result, "marks": marks,
        "workers": len(pool.ports), "procs": len(pool.procs),
        "wall": t["end"] - t["begin"], "cpu": marks.cpu["end"] - marks.cpu["begin"],
        "startup_wall": synth_t0 - t["begin"], "startup_cpu": marks.cpu.get("started", marks.cpu["begin"]) -
        marks.cpu["begin"],
        "synth_wall": synth_t1 - synth_t0,
        "synth_cpu": marks.cpu.get("last_unit", marks.cpu["end"]) - marks.cpu.get("started", marks.cpu["begin"]),
        "tail_wall": t["end"] - synth_t1, "tail_cpu": marks.cpu["end"] - marks.cpu.get("last_unit", marks.cpu["end"]),
        "children_cpu": child_usage.ru_utime + child_usage.ru_stime, "workers_cpu": workers_cpu,
        "rss_before": rss_before, "rss_end": rss_end, "peak": peak, "rss_quarters": quarter,
        "fds_before": fds_before, "fds_after": fds_after, "threads_before": threads_before,
        "threads_after": threads_after, "thread_names": thread_names, "children_before": children_before, "children_after": children_after,
        "out_bytes": out_bytes, "tmp": tmp,
    }


def _share_ssl_context() -> None:
    import ssl

    import httpx

    from tui.core import client as client_module

    context = ssl.create_default_context()

    class _SharedContextClient(httpx.AsyncClient):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("verify", context)
            super().__init__(*args, **kwargs)

    client_module.httpx = type(sys)("httpx_shared_ssl")
    client_module.httpx.__dict__.update(httpx.__dict__)
    client_module.httpx.AsyncClient = _SharedContextClient


def print_report(r: dict) -> None:
    res = r["result"]
    mb = 1024 * 1024
    print(f"book: {r['words']} words, {res.units_total} units, generated in {r['book_seconds']:.1f} s; "
          f"{r['workers']} tone workers in {r['procs']} processes; load average {os.getloadavg()[0]:.2f} at end "
          f"on {os.cpu_count()} CPUs (shared machine)")
    print(f"outcome {res.outcome}: {res.units_synthesized} synthesised, {len(res.quarantined)} quarantined, "
          f"{r['marks'].failures} failed/lost attempts, {res.audio_seconds / 3600:.2f} h audio, "
          f"output {r['out_bytes'] / mb:.1f} MB{'; error: ' + res.error if res.error else ''}")
    if r["marks"].reasons or r["marks"].downs:
        print(f"workers marked down {r['marks'].downs} time(s); failed/lost attempts by reason:")
        for reason, n in sorted(r["marks"].reasons.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  {n:>5}  {reason}")
    print(f"{'phase':<28} {'wall s':>8} {'CPU s':>8} {'cores':>6}")
    for name, wall, used in (("start (book, probe)", r["startup_wall"], r["startup_cpu"]),
                             ("synthesis (to last unit)", r["synth_wall"], r["synth_cpu"]),
                             ("tail (encode, assemble)", r["tail_wall"], r["tail_cpu"]),
                             ("whole run", r["wall"], r["cpu"])):
        print(f"{name:<28} {wall:>8.1f} {used:>8.1f} {used / wall if wall else 0:>6.2f}")
    t = r["marks"].t
    if "assembly" in t and "last_unit" in t:
        print(f"tail split: waiting for segment encodes {t['assembly'] - t['last_unit']:.1f} s, "
              f"final assembly (finish_audiobook) {t['end'] - t['assembly']:.1f} s")
    print(f"children of the orchestrator (ffmpeg) CPU {r['children_cpu']:.1f} s; tone worker processes CPU "
          f"{r['workers_cpu']:.1f} s; events published {r['marks'].events}")
    q = ", ".join(f"{v / mb:.0f}" for v in r["rss_quarters"])
    print(f"orchestrator RSS MB: before {r['rss_before'] / mb:.0f}, at 25/50/75/100 % of synthesis {q}, "
          f"after {r['rss_end'] / mb:.0f}, peak (VmHWM) {r['peak'] / mb:.0f}")
    print(f"open fds before {len(r['fds_before'])}, after {len(r['fds_after'])}; threads before "
          f"{r['threads_before']}, after {r['threads_after']} ({', '.join(r['thread_names'])}); child processes after the run "
          f"{len(r['children_after'])} (before {len(r['children_before'])})")
    leaked = {fd: target for fd, target in r["fds_after"].items() if r["fds_before"].get(fd) != target}
    for fd, target in sorted(leaked.items())[:10]:
        print(f"  fd {fd} -> {target}")
    for line in r["children_after"][:10]:
        print(f"  child {line}")


def leaked_fds(r: dict) -> dict[int, str]:
    return {fd: target for fd, target in r["fds_after"].items() if r["fds_before"].get(fd) != target}


def load_parser(description: str, *, workers: int, procs: int, speed: float, rss_help: str) -> argparse.ArgumentParser:
    """The options the cluster-load and soak benches share, with each one's defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workers", type=int, default=workers)
    parser.add_argument("--procs", type=int, default=procs, help="processes hosting the worker apps")
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--chapters", type=int, default=20)
    parser.add_argument("--speed", type=float, default=speed, help="audio seconds per wall second, per worker")
    parser.add_argument("--rate", type=int, default=8000, help="tone sample rate")
    parser.add_argument("--fmt", default="m4b")
    parser.add_argument("--telemetry", type=float, default=2.0, help="telemetry interval, seconds")
    parser.add_argument("--rss-goal", type=float, default=300.0, help=rss_help)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the book and output (kept)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a cProfile of the run (this process) here; it slows the run down")
    return parser
