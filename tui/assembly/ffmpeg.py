"""Finding and running ffmpeg.

ffmpeg comes from PATH, else from the ``imageio-ffmpeg`` wheel, which ships a
static ffmpeg but no ffprobe; nothing here ever needs ffprobe. Every call uses
an argument list (no shell) and turns a failure into :class:`AssemblyError`
carrying ffmpeg's last stderr line, which is where ffmpeg says what went wrong.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import IO, Sequence

from tui.assembly.errors import AssemblyError

__all__ = ["AssemblyError", "find_ffmpeg", "run_ffmpeg", "FfmpegPipe", "last_line"]

_BASE_ARGS = ("-nostdin", "-hide_banner", "-loglevel", "error", "-y")


def find_ffmpeg() -> str:
    """Path of an ffmpeg executable: PATH first, then the imageio-ffmpeg binary."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg  # optional at run time: only the fallback needs it

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # ImportError, or its RuntimeError when the binary is missing
        exe = None
    if exe and os.access(exe, os.X_OK):
        return str(exe)
    raise AssemblyError("ffmpeg not found: install ffmpeg or the imageio-ffmpeg package")


def last_line(stderr: bytes | str) -> str:
    """The last non-empty line of ffmpeg's stderr (its actual complaint)."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no error output"


def _failure(what: str, returncode: int, stderr: bytes | str) -> AssemblyError:
    return AssemblyError(f"ffmpeg failed while {what} (exit {returncode}): {last_line(stderr)}")


def run_ffmpeg(ffmpeg: str, args: Sequence[str], *, what: str, stdout: bool = False) -> bytes:
    """Run ``ffmpeg ARGS``; return stdout when asked; raise AssemblyError on failure."""
    try:
        proc = subprocess.run(
            [ffmpeg, *_BASE_ARGS, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
    except OSError as exc:
        raise AssemblyError(f"cannot run ffmpeg ({ffmpeg}): {exc.strerror or exc}") from None
    if proc.returncode != 0:
        raise _failure(what, proc.returncode, proc.stderr)
    return proc.stdout if stdout else b""


class FfmpegPipe:
    """An ffmpeg process that reads raw audio from stdin.

    stderr goes to a temporary file rather than a pipe so a chatty ffmpeg can
    never block while we are still writing to its stdin.
    """

    def __init__(self, ffmpeg: str, args: Sequence[str], *, what: str) -> None:
        self._what = what
        self._err: IO[bytes] = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(
                [ffmpeg, *_BASE_ARGS, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._err,
            )
        except OSError as exc:
            self._err.close()
            raise AssemblyError(f"cannot run ffmpeg ({ffmpeg}): {exc.strerror or exc}") from None

    def write(self, data: bytes | memoryview) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
        except BrokenPipeError:
            self.close()  # raises with ffmpeg's own reason when it failed
            raise AssemblyError(f"ffmpeg stopped reading audio while {self._what}") from None

    def close(self) -> None:
        """Finish the stream and wait; raise AssemblyError if ffmpeg failed."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        code = self._proc.wait()
        self._err.seek(0)
        err = self._err.read()
        self._err.close()
        if code != 0:
            raise _failure(self._what, code, err)

    def kill(self) -> None:
        """Stop ffmpeg after an error on our side; never raises."""
        try:
            self._proc.kill()
            self._proc.wait()
        finally:
            if not self._err.closed:
                self._err.close()

    def __enter__(self) -> "FfmpegPipe":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.kill()
