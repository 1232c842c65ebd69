"""Runs on a remote host, fed to its python on stdin together with one call to :func:`main`.

It is the only code that touches the remote file system, so the state that
makes bootstrap idempotent (install key, pid files, worker specs, tokens) is
read and written in one place. Standard library only, and plain enough syntax
that an old interpreter can still answer ``preflight`` and say it is too old.
Every command prints exactly one JSON object on stdout. (For a manual check on a
host: ``python3 remote_agent.py preflight '{"workdir": "~/.e2a-worker", "gpus": [0]}'``.)
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

__all__ = ["main"]

MIN_PYTHON = (3, 10)
INSTALL_MARK = "installed.json"
VENV = "venv"
WHEELS = "wheels"
WHEELHOUSE = "wheelhouse"
WORKERS = "workers"


def _abs(path):
    return os.path.abspath(os.path.expanduser(path))


def _tail(text, lines=20):
    return [line for line in text.splitlines() if line.strip()][-lines:]


def _read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def _write_private(path, text):
    """Write ``text`` with mode 0600 from the first byte (tokens must never be world-readable)."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _nearest_existing(path):
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _gpus():
    """GPU indices and names seen by NVML, else nvidia-smi; ([], 'none') without either."""
    try:
        import pynvml  # noqa: F401 - rarely in a system python, but exact when it is

        pynvml.nvmlInit()
        try:
            found = []
            for i in range(pynvml.nvmlDeviceGetCount()):
                name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
                found.append({"index": i, "name": name.decode() if isinstance(name, bytes) else name})
            return found, "nvml"
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        pass
    smi = shutil.which("nvidia-smi")
    if not smi:
        return [], "none"
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return [], "nvidia-smi failed: %s" % exc
    if out.returncode != 0:
        return [], "nvidia-smi failed: %s" % " ".join(_tail(out.stdout, 2))
    found = []
    for line in out.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2 and parts[0].isdigit():
            found.append({"index": int(parts[0]), "name": parts[1]})
    return found, "nvidia-smi"


def preflight(args):
    workdir = _abs(args["workdir"])
    problems = []
    version = ".".join(str(v) for v in sys.version_info[:3])
    if tuple(sys.version_info[:2]) < MIN_PYTHON:
        problems.append("python %s is older than %d.%d" % ((version,) + MIN_PYTHON))
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        problems.append("%s has no venv/ensurepip module (on Debian/Ubuntu: apt install python3-venv)"
                        % sys.executable)
    probe = _nearest_existing(workdir)
    free_mb = shutil.disk_usage(probe).free // (1024 * 1024)
    installed = os.path.exists(os.path.join(workdir, INSTALL_MARK))
    need_mb = int(args.get("min_free_mb", 0)) if not installed else 0
    if free_mb < need_mb:
        problems.append("only %d MB free under %s (need %d MB)" % (free_mb, probe, need_mb))
    if not os.access(probe, os.W_OK):
        problems.append("%s is not writable" % probe)
    gpus, probe_kind = [], "not needed"
    wanted = args.get("gpus") or []
    if wanted:
        gpus, probe_kind = _gpus()
        seen = set(g["index"] for g in gpus)
        missing = [g for g in wanted if g not in seen]
        listed = ",".join(str(g) for g in missing)
        if missing and probe_kind == "none":
            problems.append("GPU(s) %s listed but this host has no NVIDIA driver (neither NVML nor nvidia-smi)"
                            % listed)
        elif missing:
            problems.append("GPU(s) %s listed but %s sees only: %s" % (
                listed, probe_kind, ",".join(str(g) for g in sorted(seen)) or "none"))
    return {
        "python": version, "executable": sys.executable, "workdir": workdir, "free_mb": free_mb,
        "gpus": gpus, "gpu_probe": probe_kind, "problems": problems,
    }


def _pid_alive(pid, marker):
    """True if ``pid`` runs and its command line contains ``marker`` (guards against PID reuse)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if not os.path.isdir("/proc"):
        return True  # no procfs to check the command line against; the pid answers, trust it
    cmdline = _read("/proc/%d/cmdline" % pid)
    return cmdline is not None and marker in cmdline.replace("\0", " ")


def _worker_dir(workdir, slug):
    return os.path.join(workdir, WORKERS, slug)


def _worker_state(workdir, slug):
    wdir = _worker_dir(workdir, slug)
    pid_text = _read(os.path.join(wdir, "worker.pid"))
    pid = int(pid_text) if pid_text and pid_text.strip().isdigit() else None
    spec_text = _read(os.path.join(wdir, "spec.json"))
    try:
        spec = json.loads(spec_text) if spec_text else None
    except ValueError:
        spec = None
    token = _read(os.path.join(wdir, "token"))
    return {
        "pid": pid,
        "alive": _pid_alive(pid, wdir),
        "spec": spec,
        "token": token.strip() if token else None,
        "log": os.path.join(wdir, "worker.log"),
    }


def _venv_python(workdir):
    return os.path.join(workdir, VENV, "bin", "python")


def _venv_ok(workdir):
    py = _venv_python(workdir)
    if not os.path.exists(py):
        return False
    try:
        out = subprocess.run([py, "-c", "import remote_worker"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0


def inspect(args):
    workdir = _abs(args["workdir"])
    mark = _read(os.path.join(workdir, INSTALL_MARK))
    try:
        installed = json.loads(mark) if mark else None
    except ValueError:
        installed = None
    slugs = args.get("slugs", [])
    base = os.path.join(workdir, WORKERS)
    others = []  # workers left from an earlier inventory (a GPU removed from the list) that still run
    for slug in (sorted(os.listdir(base)) if os.path.isdir(base) else []):
        if slug not in slugs and _worker_state(workdir, slug)["alive"]:
            others.append(slug)
    return {
        "workdir": workdir,
        "installed_key": installed.get("key") if isinstance(installed, dict) else None,
        "venv_ok": _venv_ok(workdir) if args.get("check_venv", True) else None,
        "workers": dict((slug, _worker_state(workdir, slug)) for slug in slugs),
        "others": others,
    }


def wheel_files(args):
    """Wheelhouse files already uploaded (name -> size), so only what is missing travels again."""
    workdir = _abs(args["workdir"])
    path = os.path.join(workdir, WHEELHOUSE)
    os.makedirs(path, exist_ok=True)
    os.makedirs(os.path.join(workdir, WHEELS, args.get("wheel_dir", "")), exist_ok=True)
    files = dict((n, os.path.getsize(os.path.join(path, n))) for n in os.listdir(path) if n.endswith(".whl"))
    return {"workdir": workdir, "files": files}


def _run(argv, env=None, timeout=1800):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                              universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        if isinstance(out, bytes):  # text mode does not always decode what a timeout left behind
            out = out.decode("utf-8", "replace")
        return 124, out + "\ntimed out after %ds" % timeout
    except OSError as exc:
        return 127, str(exc)
    return proc.returncode, proc.stdout


def _venv_matches(workdir, system_site_packages=False):
    """True if the venv was made by this interpreter (same home and version) with the same view of
    the system's packages: else it is rebuilt."""
    cfg = _read(os.path.join(workdir, VENV, "pyvenv.cfg")) or ""
    values = {}
    for line in cfg.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    base = getattr(sys, "_base_executable", None) or sys.executable
    version = "%d.%d." % sys.version_info[:2]
    sees_system = values.get("include-system-site-packages", "false").lower() == "true"
    return (values.get("home") == os.path.dirname(base)
            and (values.get("version") or values.get("version_info") or "").startswith(version)
            and sees_system == bool(system_site_packages))


def install(args):
    """Create (or repair) the venv and install the project wheel into it; mark success last."""
    workdir = _abs(args["workdir"])
    py = _venv_python(workdir)
    mark = os.path.join(workdir, INSTALL_MARK)
    if os.path.exists(mark):
        os.remove(mark)
    system_site = bool(args.get("system_site_packages"))
    if not os.path.exists(py) or not _venv_matches(workdir, system_site):
        venv_dir = os.path.join(workdir, VENV)
        shutil.rmtree(venv_dir, ignore_errors=True)
        # --system-site-packages lets a host's own CUDA torch serve the venv instead of a second download
        code, out = _run([sys.executable, "-m", "venv"] + (["--system-site-packages"] if system_site else [])
                         + [venv_dir])
        if code != 0:
            return {"ok": False, "step": "venv", "output": _tail(out)}
    env = dict(os.environ)
    env.update({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"})
    wheel = os.path.join(workdir, WHEELS, args["wheel"])
    base = [py, "-m", "pip", "install", "--quiet"]
    if args.get("offline"):
        # only the uploaded wheels count; a pip.conf index on the host must not mask a missing one
        env["PIP_CONFIG_FILE"] = os.devnull
        base += ["--no-index", "--find-links", os.path.join(workdir, WHEELHOUSE)]
    requirements = args.get("requirements")
    if requirements is None:  # an older orchestrator: the wheel's own (full) dependency list
        code, out = _run(base + [wheel], env=env)
    else:  # only what a worker needs: no terminal UI, SSH client or ebook parser on the host
        code, out = _run(base + list(requirements), env=env) if requirements else (0, "")
    if code != 0:
        return {"ok": False, "step": "pip install", "output": _tail(out)}
    # same version, new content: pip would keep the old files without this
    code, out = _run(base + ["--no-deps", "--force-reinstall", wheel], env=env)
    if code != 0:
        return {"ok": False, "step": "pip install", "output": _tail(out)}
    code, out = _run([py, "-c", "import remote_worker"], env=env)
    if code != 0:
        return {"ok": False, "step": "pip install", "output": _tail(out)}
    _write(mark, json.dumps({"key": args["key"], "wheel": args["wheel"], "at": time.time()}))
    keep = args["wheel"].split("/")[0]
    wheels = os.path.join(workdir, WHEELS)
    for name in os.listdir(wheels):  # earlier builds of the project wheel are no longer needed
        if name != keep and os.path.isdir(os.path.join(wheels, name)):
            shutil.rmtree(os.path.join(wheels, name), ignore_errors=True)
    return {"ok": True}


def _stop_pid(pid, marker, grace):
    if not _pid_alive(pid, marker):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.time() + grace
    while time.time() < deadline:
        if not _pid_alive(pid, marker):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.time() + 5
    while time.time() < deadline and _pid_alive(pid, marker):
        time.sleep(0.05)
    return True


def start(args):
    """Start one detached worker (new session, no tty, stdin closed) and record its pid and spec."""
    workdir = _abs(args["workdir"])
    slug = args["slug"]
    wdir = _worker_dir(workdir, slug)
    os.makedirs(wdir, exist_ok=True)
    state = _worker_state(workdir, slug)
    if state["alive"]:
        _stop_pid(state["pid"], wdir, float(args.get("grace", 10)))
    token_path = os.path.join(wdir, "token")
    if not state["token"]:
        import secrets

        _write_private(token_path, secrets.token_urlsafe(32))
    else:
        os.chmod(token_path, 0o600)
    argv = [_venv_python(workdir)] + [a.replace("{token_file}", token_path) for a in args["argv"]]
    env = dict(os.environ)
    env.update(args.get("env") or {})
    log_path = os.path.join(wdir, "worker.log")
    log = open(log_path, "ab")
    log.write(("\n--- started %s ---\n" % time.strftime("%Y-%m-%d %H:%M:%S")).encode())
    log.flush()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            cwd=wdir, env=env, close_fds=True, start_new_session=True)
    log.close()
    _write(os.path.join(wdir, "worker.pid"), "%d\n" % proc.pid)
    _write(os.path.join(wdir, "spec.json"), json.dumps(args["spec"], sort_keys=True))
    token = _read(token_path)
    return {"pid": proc.pid, "token": token.strip() if token else None, "log": log_path}


def stop(args):
    workdir = _abs(args["workdir"])
    grace = float(args.get("grace", 10))
    stopped, idle = [], []
    base = os.path.join(workdir, WORKERS)
    slugs = args.get("slugs")
    if slugs is None:
        slugs = sorted(os.listdir(base)) if os.path.isdir(base) else []
    for slug in slugs:
        wdir = _worker_dir(workdir, slug)
        state = _worker_state(workdir, slug)
        if _stop_pid(state["pid"], wdir, grace):
            stopped.append(slug)
        else:
            idle.append(slug)
        pid_file = os.path.join(wdir, "worker.pid")
        if os.path.exists(pid_file):
            os.remove(pid_file)
    return {"stopped": stopped, "not_running": idle}


def tail(args):
    workdir = _abs(args["workdir"])
    lines = int(args.get("lines", 100))
    out = {}
    for slug in args.get("slugs", []):
        path = os.path.join(_worker_dir(workdir, slug), "worker.log")
        text = _read(path)
        out[slug] = {"path": path, "lines": None if text is None else text.splitlines()[-lines:]}
    return out


COMMANDS = {"preflight": preflight, "inspect": inspect, "wheel_files": wheel_files, "install": install,
            "start": start, "stop": stop, "tail": tail}


def main(argv):
    if len(argv) != 3 or argv[1] not in COMMANDS:
        sys.stdout.write(json.dumps({"error": "usage: - COMMAND JSON"}) + "\n")
        return 2
    try:
        result = COMMANDS[argv[1]](json.loads(argv[2]))
    except Exception as exc:  # report, never a traceback on the wire
        sys.stdout.write(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}) + "\n")
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__" and len(sys.argv) > 1:
    sys.exit(main(sys.argv))
