"""What the finish step costs, and how far chapter marks drift, measured side by side in one run.

Builds ~10 minutes of audio (noise units with a marker burst at each chapter start), then:

1. incremental: each chapter encoded on its own (as the orchestrator does while synthesis runs),
   then ``finish_audiobook`` joins the parts by stream copy (the time that remains after the last unit);
2. full:  one ffmpeg pass that encodes everything at the end (concat of the unit files, marks, tags, cover);
3. naive: the same per-chapter parts joined with a plain concat + stream copy, marks from unit sample counts.

For each it prints wall time and the chapter-mark error: where each chapter's marker burst really is in
the decoded output compared with the mark, and the mark compared with the true boundary (cumulative unit
sample counts). Goal: finish/full well under 1 and no drift growing with the chapter count.

    python bench/assembly_finish.py [--minutes 10] [--chapters 20] [--fmt m4b]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.assembly import ChapterAudio, ChapterEncoder, UnitAudio, find_ffmpeg, finish_audiobook  # noqa: E402
from tui.assembly.ffmetadata import ChapterMark, render_ffmetadata, vorbis_chapter_tags  # noqa: E402
from tui.assembly.tags import book_tags  # noqa: E402
from tui.book.model import BookMeta  # noqa: E402

RATE = 22050
MARK_AT = 2000


def burst(key: int) -> np.ndarray:
    noise = np.random.default_rng(500 + key).uniform(-1, 1, RATE // 20)
    return (0.7 * noise * np.hanning(len(noise))).astype(np.float32)


def make_book(folder: Path, minutes: float, chapters: int) -> tuple[list[ChapterAudio], list[int]]:
    rng = np.random.default_rng(0)
    per_chapter = minutes * 60 / chapters
    out, lengths = [], []
    for c in range(chapters):
        units, total = [], 0
        for u in range(3):
            n = int(per_chapter / 3 * RATE * rng.uniform(0.8, 1.2))
            x = (0.03 * rng.standard_normal(n)).astype(np.float32)
            if u == 0:
                x[MARK_AT : MARK_AT + RATE // 20] += burst(c)
            path = folder / f"c{c:03d}u{u}.flac"
            sf.write(path, x, RATE, subtype="PCM_16")
            units.append(UnitAudio(path, []))
            total += n
        out.append(ChapterAudio(c, f"Chapter {c + 1}", units))
        lengths.append(total)
    return out, lengths


def probe_marks(path: Path) -> list[float]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return [float(c["start_time"]) for c in json.loads(out)["chapters"]]


def audio_positions(path: Path, around: list[float]) -> np.ndarray:
    """Where each chapter's burst really starts (seconds), searched near ``around``."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(RATE),
                          "-f", "f32le", "pipe:1"], capture_output=True, check=True).stdout
    y = np.frombuffer(raw, dtype="<f4")
    found = []
    for c, t in enumerate(around):
        centre = round(t * RATE) + MARK_AT
        lo = max(0, centre - 5 * RATE)
        hi = min(len(y), centre + 5 * RATE)
        scores = np.correlate(y[lo:hi], burst(c), mode="valid")
        found.append((lo + int(np.argmax(scores)) - MARK_AT) / RATE)
    return np.array(found)


def report(name: str, seconds: float, marks: list[float], truth: np.ndarray, path: Path) -> None:
    real = audio_positions(path, list(truth))
    marks_a = np.array(marks)
    audio_vs_mark = (real - marks_a) * 1000
    mark_vs_truth = (marks_a - truth) * 1000
    print(f"{name:12s} {seconds:7.2f} s   audio-vs-mark max {np.max(np.abs(audio_vs_mark)):7.1f} ms "
          f"(last {audio_vs_mark[-1]:7.1f})   mark-vs-true max {np.max(np.abs(mark_vs_truth)):6.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--chapters", type=int, default=20)
    ap.add_argument("--fmt", default="m4b", choices=["m4b", "mp3", "opus", "flac"])
    args = ap.parse_args()
    ffmpeg = find_ffmpeg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "units").mkdir()
        chapters, lengths = make_book(tmp / "units", args.minutes, args.chapters)
        truth = np.concatenate([[0], np.cumsum(lengths)[:-1]]) / RATE
        subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "color=c=navy:s=600x800", "-frames:v", "1",
                        str(tmp / "cover.jpg")], check=True)
        meta = BookMeta(title="Bench", authors=["Nobody"], date="2024", cover=(tmp / "cover.jpg").read_bytes())
        print(f"{args.minutes:g} min of audio, {args.chapters} chapters, format {args.fmt}, ffmpeg {ffmpeg}")

        encoder = ChapterEncoder(tmp / "work", fmt=args.fmt)
        encoder.encode(ChapterAudio(999, "warm-up", chapters[0].units[:1]))  # one-time timing measurement
        t0 = time.perf_counter()
        encoded = [encoder.encode(ch) for ch in chapters]
        t_chapters = time.perf_counter() - t0
        out = tmp / f"incremental.{args.fmt}"
        t0 = time.perf_counter()
        finish_audiobook(encoded, meta, out, fmt=args.fmt)
        t_finish = time.perf_counter() - t0

        # one pass at the end: every unit decoded and encoded once, marks exact by construction
        full = tmp / f"full.{args.fmt}"
        listing = tmp / "units.ffconcat"
        listing.write_text("ffconcat version 1.0\n" + "".join(f"file '{u.path}'\n" for ch in chapters for u in ch.units))
        starts = [round(t * RATE) for t in truth] + [sum(lengths)]
        marks = [ChapterMark(starts[i], starts[i + 1], ch.title) for i, ch in enumerate(chapters)]
        tags = book_tags(meta)
        if args.fmt in ("opus", "flac"):  # as the product does: ffmpeg 5.1 rounds (Ogg) or drops (FLAC) them
            tags.update(vorbis_chapter_tags(marks, RATE))
            marks = []
        (tmp / "full.ffmeta").write_text(render_ffmetadata(tags, marks, RATE))
        codec = {"m4b": ["-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", "-f", "ipod"],
                 "mp3": ["-c:a", "libmp3lame", "-b:a", "64k", "-id3v2_version", "3", "-f", "mp3"],
                 "opus": ["-c:a", "libopus", "-b:a", "64k", "-f", "ogg"],
                 "flac": ["-c:a", "flac", "-sample_fmt", "s16", "-f", "flac"]}[args.fmt]
        cover = [] if args.fmt == "opus" else ["-i", str(tmp / "cover.jpg")]
        cover_map = [] if args.fmt == "opus" else ["-map", "2:v", "-c:v", "copy", "-disposition:v:0", "attached_pic"]
        t0 = time.perf_counter()
        subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                        "-f", "ffmetadata", "-i", str(tmp / "full.ffmeta"), *cover, "-map", "0:a", *cover_map,
                        "-map_metadata", "1", "-map_chapters", "1", "-ac", "1", *codec, str(full)], check=True)
        t_full = time.perf_counter() - t0

        print(f"{'method':12s} {'wall':>9s}")
        report("finish", t_finish, probe_marks(out), truth, out)
        report("full", t_full, probe_marks(full), truth, full)
        if args.fmt != "flac":
            naive = tmp / f"naive.{args.fmt}"
            naive_list = tmp / "naive.ffconcat"
            naive_list.write_text("ffconcat version 1.0\n" + "".join(f"file '{e.path}'\n" for e in encoded))
            muxer = {"m4b": "ipod", "mp3": "mp3", "opus": "ogg"}[args.fmt]
            t0 = time.perf_counter()
            subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(naive_list),
                            "-f", "ffmetadata", "-i", str(tmp / "full.ffmeta"), "-map", "0:a", "-map_metadata", "1",
                            "-map_chapters", "1", "-c", "copy", "-f", muxer, str(naive)], check=True)
            report("naive copy", time.perf_counter() - t0, list(truth), truth, naive)
        print(f"chapter encodes (spread over the run): {t_chapters:.2f} s in total")
        print(f"finish / full re-encode: {t_finish / t_full:.3f}")


if __name__ == "__main__":
    main()
