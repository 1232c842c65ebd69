"""``e2a-tui``: convert a book (the default command) and manage SSH workers.

``e2a-tui book.epub`` is ``e2a-tui convert book.epub``; ``bootstrap``, ``stop``,
``status`` and ``logs`` act on an SSH inventory. Every user-facing error is one
line on stderr with exit code 2; a partial audiobook exits 1.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Optional

import click

from . import __version__
from .book.model import BookError
from .assembly.formats import FORMAT_NAMES
from .core.cluster import ClusterError, WorkerSource
from .core.outcome import ExitCode, exit_code_for

__all__ = ["main", "cli"]



class DefaultCommandGroup(click.Group):
    """A group whose first positional argument falls through to ``convert`` when it is not a command."""

    default_command = "convert"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and _want_dashboard(False):  # bare ``e2a-tui`` on a terminal: the start screen
            args = [self.default_command]
        if not args or args[0] in ("--help", "-h", "--version"):
            return super().parse_args(ctx, args)
        if args[0] not in self.commands:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _fail(message: str, code: int = ExitCode.BAD_INPUT) -> "click.exceptions.Exit":
    click.echo(f"e2a-tui: error: {message}", err=True)
    return click.exceptions.Exit(code)


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="e2a-tui")
def cli() -> None:
    """Turn an ebook into an audiobook (.m4b with chapters and cover) on every worker you have.

    \b
    e2a-tui book.epub                      local workers (Piper, CPU)
    e2a-tui --no-tui book.epub -o out.m4b  headless
    e2a-tui book.epub --workers a:8001,b:8001
    e2a-tui book.epub -i inventory.toml    workers on your SSH hosts
    e2a-tui book.epub --ray HOST:PORT      workers as actors on a Ray cluster
    e2a-tui --sample                       try it on the bundled sample book
    """


@cli.command()
@click.argument("book", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (default: next to the book).")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMAT_NAMES), default=None,
              help="Output format (default: from -o's suffix, else m4b).")
@click.option("--bitrate", default="64k", show_default=True, help="Audio bitrate for lossy formats.")
@click.option("--chapters", metavar="SPEC", help="Chapters to convert, e.g. 3-10,12 (see --list-chapters).")
@click.option("--list-chapters", is_flag=True, help="Show the chapters that would be read, then exit.")
@click.option("--include-all", is_flag=True, help="Also read front and back matter (cover, copyright, index…).")
@click.option("--lexicon", type=click.Path(path_type=Path), help="TOML file of word or regex → spoken form.")
@click.option("--engine", envvar="TTS_MODEL", default="piper", show_default=True, help="Worker TTS engine.")
@click.option("--voice", help="Voice (engine-specific; for piper a .onnx path).")
@click.option("--speed", type=float, help="Speaking rate multiplier (1.0 normal, 1.2 faster).")
@click.option("--voice-sample", type=click.Path(path_type=Path),
              help="Cloning engines (xtts): a reference recording of the narrator, uploaded once per worker.")
@click.option("--speaker", help="Cloning engines (xtts): a built-in speaker of the model.")
@click.option("--language", help="Language code to speak in (default: the book's).")
@click.option("--request-overhead", type=float, metavar="SECONDS",
              help="Engine time every request costs (sizes work units; default per engine).")
@click.option("--verify/--no-verify", default=None,
              help="Hear every sentence back on its worker and speak again what does not say its text "
                   "(default: on for engines that drop words, such as xtts; off for piper).")
@click.option("--verify-takes", type=click.IntRange(1, 10), default=3, show_default=True,
              help="With --verify: takes per sentence at most, the first included.")
@click.option("--split-chapters", is_flag=True, help="Write one file per chapter instead of one book file.")
@click.option("--subtitles", type=click.Choice(["vtt", "srt"]), help="Also write subtitles from sentence timings.")
@click.option("--unit-chars", type=int, help="Target characters per work unit (default adapts to book and workers).")
@click.option("--retries", type=click.IntRange(0, 50), default=5, show_default=True,
              help="Retries of a failing unit (on other workers when possible) before it is quarantined.")
@click.option("--local-workers", type=int, help="Number of local workers (default fits this machine).")
@click.option("--threads", type=int, default=1, show_default=True, help="Threads per local worker.")
@click.option("--workers", "worker_list", envvar="WORKER_NODES", metavar="HOST:PORT,...",
              help="Use these running workers (also WORKER_NODES).")
@click.option("--worker-token-file", type=click.Path(path_type=Path), help="Bearer token for --workers.")
@click.option("-i", "--inventory", type=click.Path(path_type=Path), help="SSH inventory of worker hosts (TOML).")
@click.option("--no-bootstrap", is_flag=True, help="With -i: only use workers that are already running.")
@click.option("--accept-new-host-keys", is_flag=True, help="With -i: trust and record unknown SSH host keys.")
@click.option("--wheelhouse", type=click.Path(path_type=Path), help="With -i: wheels for hosts without internet.")
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help="Workers as actors on a Ray cluster: auto, HOST:PORT, ray://HOST:PORT, or local "
                   "(a private one-node cluster). Needs the [ray] extra.")
@click.option("--ray-workers", type=click.IntRange(1, 512), metavar="N",
              help="With --ray: workers to start (default: one per GPU; one per CPU, capped, without GPUs).")
@click.option("--ray-gpus-per-worker", type=click.FloatRange(0, 8), metavar="F",
              help="With --ray: GPUs each worker asks for; fractions share a GPU (0.5: two per GPU).")
@click.option("--no-tui", is_flag=True, help="Plain progress output instead of the dashboard.")
@click.option("--exit-when-done", is_flag=True, help="Dashboard: close when the run ends instead of waiting for q.")
@click.option("--serve-progress", type=int, metavar="PORT", help="Serve GET /progress/{session} on 127.0.0.1:PORT.")
@click.option("--sample", is_flag=True, help="Convert the bundled sample book.")
def convert(book: Optional[Path], output: Optional[Path], fmt: Optional[str], bitrate: str, chapters: Optional[str],
            list_chapters: bool, include_all: bool, lexicon: Optional[Path], engine: str, voice: Optional[str],
            speed: Optional[float], voice_sample: Optional[Path], speaker: Optional[str], language: Optional[str],
            request_overhead: Optional[float], verify: Optional[bool], verify_takes: int, split_chapters: bool, subtitles: Optional[str], unit_chars: Optional[int],
            retries: int, local_workers: Optional[int], threads: int, worker_list: Optional[str],
            worker_token_file: Optional[Path], inventory: Optional[Path], no_bootstrap: bool,
            accept_new_host_keys: bool, wheelhouse: Optional[Path], ray_address: Optional[str],
            ray_workers: Optional[int], ray_gpus_per_worker: Optional[float], no_tui: bool, exit_when_done: bool,
            serve_progress: Optional[int], sample: bool) -> None:
    """Convert BOOK (EPUB, FB2, TXT, MD, HTML; MOBI, AZW3, DOCX, PDF… with calibre) into an audiobook."""
    from .core.options import RunOptions, default_output_for
    from .core.scheduler import SchedulerConfig

    if sample:
        if book is not None:
            raise _fail("give either BOOK or --sample, not both")
        from .sample import write_sample_epub

        target_dir = (output.parent if output else Path.cwd())
        book = write_sample_epub(target_dir / "e2a-sample.epub")
    use_tui = _want_dashboard(no_tui)
    if book is None and use_tui and not list_chapters:
        choice = _start_screen(inventory)
        if choice is None:
            raise click.exceptions.Exit(0)
        book, inventory, chapters = choice.book, choice.inventory, choice.chapters
        fmt = fmt or choice.fmt
    if book is None:
        raise _fail("no book given (try: e2a-tui --sample, or e2a-tui --help)")
    if not book.exists():
        raise _fail(f"{book}: no such file")
    if fmt is None:
        suffix = output.suffix.lower().lstrip(".") if output else ""
        fmt = suffix if suffix in FORMAT_NAMES else FORMAT_NAMES[0]
    if list_chapters:
        _list_chapters(book, include_all, chapters)
        return
    if sum(x is not None for x in (worker_list, inventory)) > 1:
        raise _fail("use either --workers or --inventory, not both")
    if ray_address is not None and worker_list is not None:
        raise _fail("use either --workers or --ray, not both")
    if (ray_workers is not None or ray_gpus_per_worker is not None) and ray_address is None and inventory is None:
        raise _fail("--ray-workers and --ray-gpus-per-worker go with --ray")
    if speed is not None and not 0.2 <= speed <= 5:
        raise _fail("--speed must be between 0.2 and 5")
    if request_overhead is not None and not 0 <= request_overhead <= 600:
        raise _fail("--request-overhead must be between 0 and 600 seconds")
    options = RunOptions(
        input=book, output=output or default_output_for(book, fmt), fmt=fmt, bitrate=bitrate, chapters=chapters,
        include_all=include_all, lexicon=lexicon, engine=engine, voice=voice,
        length_scale=(1.0 / speed) if speed else None, unit_chars=unit_chars,
        voice_sample=voice_sample, speaker=speaker, language=language, request_overhead_s=request_overhead,
        split_chapters=split_chapters, subtitles=subtitles, verify=verify, verify_takes=verify_takes,
        scheduler=SchedulerConfig(max_failures_per_unit=retries + 1,
                                  max_worker_failures_per_unit=min(3, retries + 1)),
    )
    try:
        cluster = _make_ray_cluster(ray_address, inventory, ray_workers, ray_gpus_per_worker, engine, voice,
                                    threads, verify)
        if cluster is None:
            cluster = _make_cluster(worker_list, worker_token_file, inventory, no_bootstrap, accept_new_host_keys,
                                    wheelhouse, local_workers, threads, engine, voice)
    except (ClusterError, OSError) as exc:
        raise _fail(str(exc)) from None
    try:
        if use_tui:
            code = _dashboard(options, cluster, inventory, exit_when_done, serve_progress)
        else:
            code = asyncio.run(_convert(options, cluster, serve_progress))
    except KeyboardInterrupt:
        click.echo("e2a-tui: interrupted; finished units are kept, rerun the same command to resume", err=True)
        code = ExitCode.INTERRUPTED
    raise click.exceptions.Exit(code)


def _want_dashboard(no_tui: bool) -> bool:
    """The dashboard on a terminal; the headless view with --no-tui or when stdout is not a terminal."""
    return not no_tui and sys.stdout.isatty() and sys.stdin.isatty()


def _start_screen(inventory: Optional[Path]):
    from .dashboard.launch import pick_start

    return pick_start(Path.cwd(), inventory)


def _dashboard(options, cluster: WorkerSource, inventory: Optional[Path], exit_when_done: bool,
               serve_port: Optional[int]) -> int:
    """The Textual front end over the same RunSession; imported only here, so the core never needs textual."""
    from .core.options import RunError

    from .dashboard.launch import run_dashboard

    try:
        return run_dashboard(options, cluster, inventory=inventory, exit_when_done=exit_when_done,
                             serve_port=serve_port)
    except (RunError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None


def _list_chapters(book: Path, include_all: bool, chapters: Optional[str]) -> None:
    from .book.ingest import load_book
    from .book.listing import format_chapter_list
    from .book.selection import parse_chapter_selection, select_chapters

    try:
        loaded = load_book(book, include_all=include_all)
        if chapters:
            loaded = select_chapters(loaded, parse_chapter_selection(chapters, len(loaded.chapters)))
    except (BookError, ValueError) as exc:
        raise _fail(str(exc)) from None
    click.echo(format_chapter_list(loaded))


def _make_ray_cluster(address: Optional[str], inventory: Optional[Path], workers: Optional[int],
                      gpus_per_worker: Optional[float], engine: str, voice: Optional[str], threads: int,
                      verify: Optional[bool]) -> Optional[WorkerSource]:
    """A Ray source for ``--ray`` or an inventory whose only workers are its ``[ray]`` table; else None."""
    from .ray.settings import RaySettings, RaySettingsError

    settings: Optional[RaySettings] = None
    try:
        if inventory is not None:
            from .ssh.inventory import InventoryError, load_inventory

            try:
                inv = load_inventory(inventory)
            except InventoryError as exc:
                raise ClusterError(str(exc)) from None
            if inv.ray is not None and (address is not None or not inv.hosts):
                settings = inv.ray
            elif address is not None:
                raise ClusterError("use either --ray or an inventory's [[hosts]], not both")
        if settings is None and address is None:
            return None
        settings = (settings or RaySettings()).with_options(
            address=address, workers=workers, gpus_per_worker=gpus_per_worker,
            engine=engine, voice=voice,
            threads=threads if threads != 1 else None, verify=False if verify is False else None)
    except RaySettingsError as exc:
        raise ClusterError(str(exc)) from None
    from .ray.cluster import RayCluster

    return RayCluster(settings)


def _make_cluster(worker_list: Optional[str], token_file: Optional[Path], inventory: Optional[Path],
                  no_bootstrap: bool, accept_new: bool, wheelhouse: Optional[Path], local_workers: Optional[int],
                  threads: int, engine: str, voice: Optional[str]) -> WorkerSource:
    if worker_list:
        from .core.static import StaticCluster

        token = os.environ.get("E2A_WORKER_TOKEN")
        if token_file:
            try:
                token = token_file.read_text().strip()
            except OSError as exc:
                raise ClusterError(f"cannot read token file {token_file}: {exc.strerror}") from None
        return StaticCluster(worker_list, token=token)
    if inventory:
        from .ssh.cluster import SshCluster
        from .ssh.inventory import InventoryError, load_inventory

        try:
            inv = load_inventory(inventory)
        except InventoryError as exc:
            raise ClusterError(str(exc)) from None
        # bootstrap phases and connection news reach the front end as events (bind_events), not stderr
        return SshCluster(inv, bootstrap=not no_bootstrap, accept_new_host_keys=accept_new, wheelhouse=wheelhouse)
    from .core.local import LocalCluster

    if local_workers is not None and local_workers < 1:
        raise ClusterError("--local-workers must be at least 1")
    return LocalCluster(local_workers, threads=threads, engine=engine, voice=voice)


async def _convert(options, cluster: WorkerSource, serve_port: Optional[int]) -> int:
    from .assembly.errors import AssemblyError
    from .book.fingerprint import book_fingerprint
    from .core.journal import JournalError
    from .core.progress_server import serve_progress
    from .core.options import RunError
    from .core.session import RunSession
    from .frontends.headless import HeadlessRenderer, format_summary

    server = None
    renderer = None
    try:
        session = RunSession(options, cluster)
        renderer = HeadlessRenderer(session.state, sys.stdout)
        session.subscribe(renderer)
        if serve_port is not None:
            session_id = book_fingerprint(options.input)[:12]
            server = await serve_progress(session, serve_port, session_id)
            click.echo(f"progress: http://127.0.0.1:{serve_port}/progress/{session_id}")
        result = await session.run()
    except (BookError, RunError, ClusterError, JournalError, AssemblyError, ValueError, OSError) as exc:
        if renderer is not None:
            renderer.close()
        click.echo(f"e2a-tui: error: {exc}", err=True)
        return ExitCode.BAD_INPUT
    finally:
        if renderer is not None:
            renderer.close()
        if server is not None:
            server.cancel()
    click.echo(format_summary(result))
    return exit_code_for(result)


def _register_ssh_commands() -> None:
    from .ssh.cli import COMMANDS

    for command in COMMANDS:
        if command.name == "bootstrap":
            command = _with_bootstrap_view(command)
        elif command.name in ("status", "stop"):
            command = _with_ray_option(command)
        cli.add_command(command)


def _with_ray_option(command: click.Command) -> click.Command:
    """``status``/``stop`` also act on a Ray cluster: ``--ray ADDRESS``, or an inventory with only [ray]."""
    plain = command.callback
    params = []
    for param in command.params:
        if param.name == "inventory_path":
            param = click.Option([*param.opts, "inventory_path"], required=False, type=param.type, help=param.help)
        params.append(param)

    def callback(inventory_path: Optional[Path], ray_address: Optional[str], **kwargs: object) -> None:
        if ray_address is None and inventory_path is not None:
            from .ssh.inventory import InventoryError, load_inventory

            try:
                inv = load_inventory(inventory_path)
            except InventoryError as exc:
                raise _fail(str(exc)) from None
            if inv.ray is not None and not inv.hosts:
                ray_address = inv.ray.address
        if ray_address is None:
            if inventory_path is None:
                raise _fail("give an inventory (-i) or a Ray cluster (--ray ADDRESS)")
            return plain(inventory_path=inventory_path, **kwargs)
        raise click.exceptions.Exit(_ray_command(command.name or "", ray_address))

    ray_option = click.Option(["--ray", "ray_address"], metavar="ADDRESS",
                              help="A Ray cluster (auto, HOST:PORT, ray://HOST:PORT) instead of SSH hosts.")
    return click.Command(command.name, params=[*params, ray_option], callback=callback, help=command.help,
                         short_help=command.short_help)


def _ray_command(name: str, address: str) -> int:
    from .ray import commands
    from .ray.settings import RaySettingsError, check_address

    try:
        check_address(address)
        if name == "status":
            headline, rows = commands.status(address)
            click.echo(headline)
            click.echo(commands.format_rows(rows))
            return 0 if all(r.state == "healthy" for r in rows) else 1
        stopped = commands.stop(address)
        click.echo(f"stopped {len(stopped)} worker actor(s)" + (f": {', '.join(stopped)}" if stopped else ""))
        return 0
    except (ClusterError, RaySettingsError) as exc:
        raise _fail(str(exc)) from None


def _with_bootstrap_view(command: click.Command) -> click.Command:
    """``bootstrap`` on a terminal shows each host's phases live (the dashboard's bootstrap view)."""
    plain = command.callback

    def callback(inventory_path: Path, accept_new_host_keys: bool, wheelhouse: Optional[Path], quiet: bool,
                 no_tui: bool) -> None:
        if quiet or not _want_dashboard(no_tui):
            return plain(inventory_path, accept_new_host_keys, wheelhouse, quiet)
        from .ssh.inventory import InventoryError, load_inventory

        try:
            inv = load_inventory(inventory_path)
        except InventoryError as exc:
            raise _fail(str(exc)) from None
        from .dashboard.launch import run_bootstrap_view

        raise click.exceptions.Exit(run_bootstrap_view(inv, accept_new_host_keys=accept_new_host_keys,
                                                       wheelhouse=wheelhouse))

    no_tui = click.Option(["--no-tui"], is_flag=True, help="Plain progress lines instead of the live view.")
    return click.Command(command.name, params=[*command.params, no_tui], callback=callback, help=command.help,
                         short_help=command.short_help)


_register_ssh_commands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="e2a-tui")


if __name__ == "__main__":  # pragma: no cover
    main()
