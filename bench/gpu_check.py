"""GPU check of the XTTS worker with a tiny random model: NVML in /status, RTF, memory, replica scaling.

Starts real ``python -m remote_worker`` processes (one per replica count), sends
units over HTTP with the standard library only (the host has no httpx), and
prints one table. Random weights make every utterance the same length, so
throughput compares replica counts fairly; the numbers say nothing about
XTTS-v2's real speed, only about how the worker uses the device.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

SENTENCES = [
    "The river ran low that summer, and the stones along its bed lay bare and white.",
    "Every morning the miller walked down to the water to see whether it had risen.",
    "It never had, and he came back up the hill more slowly each day.",
    "By August the great wheel had stopped turning altogether.",
]


def _call(base: str, path: str, body: Any = None, timeout: float = 300) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


class Worker:
    def __init__(self, model: Path, replicas: int, device: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("E2A_WORKER_TOKEN", "WORKER_PORT", "TTS_MODEL")}
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "remote_worker", "--engine", "xtts", "--model-dir", str(model), "--port", "0",
             "--replicas", str(replicas), "--device", device, "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("E2A_WORKER_PORT="):
            self.proc.wait(timeout=30)
            self.log.seek(0)
            tail = self.log.read().decode(errors="replace").strip().splitlines()[-5:]
            raise SystemExit(f"gpu_check: worker with {replicas} replica(s) did not start: {' | '.join(tail)}")
        self.base = f"http://127.0.0.1:{int(line.split('=', 1)[1])}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _unit(base: str, unit: str, verify: bool = False) -> dict:
    config = {"language": "en", "speaker": "Tiny Speaker", **({"verify": True, "verify_takes": 2} if verify else {})}
    return _call(base, "/process_chapter", {"chapter_id": unit, "sentences": SENTENCES, "tts_config": config})


def measure_verification(base: str, units: int) -> dict:
    """Speech recognition beside the engine: recogniser seconds per audio second heard (``--verify``).
    The tiny model's speech is noise, so every sentence is flagged and taken twice: the worst case."""
    health = _call(base, "/health")
    if not health.get("verify", {}).get("available"):
        return {"available": False, "reason": health.get("verify", {}).get("reason", "")}
    before = _call(base, "/status")
    _unit(base, "verify-warm-up", verify=True)  # loads the recogniser; not counted below
    mid = _call(base, "/status")
    for i in range(units):
        _unit(base, f"v{i}", verify=True)
    after = _call(base, "/status")
    heard = after["verify_audio_seconds"] - mid["verify_audio_seconds"]
    asr = after["verify_seconds"] - mid["verify_seconds"]
    return {"available": True, "model": health["verify"].get("model", ""), "asr_per_audio_s": asr / heard if heard else 0.0,
            "heard_s": heard, "retakes": after["retakes"] - before["retakes"]}


def measure(model: Path, replicas: int, device: str, units_per_replica: int) -> dict:
    worker = Worker(model, replicas, device)
    try:
        status = _call(worker.base, "/status")
        _unit(worker.base, "warm-up")  # first call builds kernels/caches; not timed
        results: list[dict] = []
        lock = threading.Lock()

        def run(name: str) -> None:
            out = _unit(worker.base, name)
            with lock:
                results.append(out)

        threads = [threading.Thread(target=run, args=(f"u{i}",)) for i in range(replicas * units_per_replica)]
        began = time.perf_counter()
        # one client per replica slot at a time keeps the worker's admission rule (running + queued) in bounds
        for start in range(0, len(threads), replicas):
            batch = threads[start:start + replicas]
            for t in batch:
                t.start()
            for t in batch:
                t.join()
        wall = time.perf_counter() - began
        after = _call(worker.base, "/status")
        verification = measure_verification(worker.base, units_per_replica) if replicas == 1 else None
        audio = sum(r["duration"] for r in results)
        engine = sum(r["synthesis_seconds"] for r in results)
        return {
            "replicas": replicas, "units": len(results), "wall_s": wall, "audio_s": audio,
            "rtf": engine / audio if audio else float("nan"), "throughput": audio / wall if wall else 0.0,
            "peak_running": after["peak_running"], "device": status["device"], "gpu_name": status.get("gpu_name"),
            "gpu_total_mb": status.get("gpu_memory_total_mb"), "gpu_used_mb": after.get("gpu_memory_used_mb"),
            "model_mb": status.get("model_memory_mb"),
            "per_replica_mb": [r.get("model_memory_mb") for r in status.get("replica_status", [])],
            "busy_s": [round(r["busy_seconds"], 2) for r in after.get("replica_status", [])],
            "verification": verification,
        }
    finally:
        worker.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--replicas", default="1,2,4", help="replica counts to compare")
    parser.add_argument("--units", type=int, default=3, help="timed units per replica")
    parser.add_argument("--max-audio-tokens", type=int, default=100)
    args = parser.parse_args()
    counts = [int(x) for x in args.replicas.split(",") if x.strip()]
    from remote_worker.engines.xtts_tiny import build_tiny_xtts

    with tempfile.TemporaryDirectory(prefix="e2a-gpu-check-") as tmp:
        started = time.perf_counter()
        model = build_tiny_xtts(Path(tmp) / "tiny", speakers=True, max_audio_tokens=args.max_audio_tokens)
        print(f"tiny XTTS model built in {time.perf_counter() - started:.1f} s", flush=True)
        rows = []
        for n in counts:
            row = measure(model, n, args.device, args.units)
            rows.append(row)
            print(f"  {n} replica(s): {row['units']} units in {row['wall_s']:.1f} s", flush=True)
    first = rows[0]
    print(f"\ndevice: {first['device']}  GPU: {first['gpu_name'] or 'none (NVML saw no GPU)'}  "
          f"total memory: {first['gpu_total_mb'] or 0:.0f} MiB")
    print(f"{'replicas':>8} {'units':>5} {'wall s':>7} {'audio s':>8} {'RTF/unit':>8} {'audio s/s':>9} "
          f"{'speed-up':>8} {'peak':>4} {'model MiB/replica':>17} {'GPU used MiB':>12}")
    for row in rows:
        per = [m for m in row["per_replica_mb"] if m is not None]
        mem = f"{sum(per) / len(per):.0f}" if per else "-"
        used = f"{row['gpu_used_mb']:.0f}" if row["gpu_used_mb"] is not None else "-"
        print(f"{row['replicas']:>8} {row['units']:>5} {row['wall_s']:>7.1f} {row['audio_s']:>8.1f} "
              f"{row['rtf']:>8.3f} {row['throughput']:>9.2f} {row['throughput'] / first['throughput']:>7.2f}x "
              f"{row['peak_running']:>4} {mem:>17} {used:>12}")
    check = first.get("verification") or {}
    if check.get("available"):
        print(f"verification ({check['model']}): {check['asr_per_audio_s']:.4f} recogniser s per audio s "
              f"({1 / check['asr_per_audio_s'] if check['asr_per_audio_s'] else 0:.0f}x real time) over "
              f"{check['heard_s']:.1f} s heard, beside XTTS's RTF {first['rtf']:.3f}; {check['retakes']} retakes")
    else:
        print(f"verification: not measured ({check.get('reason') or 'the worker cannot verify'})")
    bad = [r for r in rows if r["peak_running"] != r["replicas"]]
    if args.device == "cuda" and (first["device"] != "cuda" or not first["gpu_name"]):
        print("gpu_check: FAILED: the worker did not run on CUDA or NVML reported no GPU", file=sys.stderr)
        return 1
    if bad:
        print(f"gpu_check: FAILED: replicas never all ran at once for {[r['replicas'] for r in bad]}", file=sys.stderr)
        return 1
    print("gpu_check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
