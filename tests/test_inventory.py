"""The inventory loader: defaults and overrides, worker layout, and one-line errors that name the field."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui.ssh.cli import status_command
from tui.ssh.inventory import InventoryError, load_inventory, worker_name

REPO = Path(__file__).resolve().parents[1]
HOST_A = '[[hosts]]\nname = "a"\naddress = "x"\n'


def _write(tmp_path: Path, text: str, name: str = "inv.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _key(tmp_path: Path, name: str = "id_test") -> Path:
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def _error(path: Path) -> str:
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_example_inventory_loads_with_defaults_applied() -> None:
    inv = load_inventory(REPO / "inventory.example.toml")
    hosts = {h.name: h for h in inv.hosts}
    assert list(hosts) == ["gpu1", "gpu2", "cpu-box"]
    gpu1, gpu2, cpu = hosts["gpu1"], hosts["gpu2"], hosts["cpu-box"]
    assert (gpu1.user, gpu1.port, gpu1.engine, gpu1.python) == ("tts", 22, "piper", "python3")
    assert (gpu2.user, gpu2.port, gpu2.engine) == ("alice", 2222, "piper")
    assert gpu2.env == {"OMP_NUM_THREADS": "4", "HF_HOME": "/scratch/hf"}
    assert cpu.threads == 8 and cpu.gpus == []
    assert [(w.name, w.gpu, w.remote_port) for w in gpu1.workers()] == [("gpu1/0", 0, 8001), ("gpu1/1", 1, 8002)]
    assert [(w.name, w.gpu, w.remote_port) for w in cpu.workers()] == [("cpu-box/cpu", None, 8001)]
    for worker in gpu1.workers() + cpu.workers():  # names found on a host map back to the same names
        assert worker_name(worker.host, worker.slug) == worker.name


def test_host_values_override_defaults_and_paths_resolve(tmp_path: Path) -> None:
    key = _key(tmp_path)
    path = _write(tmp_path, f"""
[defaults]
user = "tts"
worker_port = 9000
identity_file = "{key.name}"
known_hosts = "kh"
env = {{ A = "1", B = 2 }}

[[hosts]]
name = "a"
address = "10.0.0.1"
gpus = [3, 5]
worker_port = 9100
env = {{ B = "x" }}

[[hosts]]
name = "b"
address = "b.example"
""")
    inv = load_inventory(path)
    a, b = inv.hosts
    assert a.identity_file == tmp_path / key.name and a.known_hosts == tmp_path / "kh"
    assert a.env == {"A": "1", "B": "x"} and b.env == {"A": "1", "B": "2"}
    assert [(w.name, w.remote_port) for w in a.workers()] == [("a/3", 9100), ("a/5", 9101)]
    assert [(w.name, w.remote_port) for w in b.workers()] == [("b/cpu", 9000)]
    assert inv.host("b") is b
    with pytest.raises(InventoryError, match=r"no host named 'c' \(hosts: a, b\)"):
        inv.host("c")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[hosts]]\nname = "a"\n', r"host 'a': field 'address' is required"),
        ('[[hosts]]\naddress = "x"\n', r"host #1: field 'name' is required"),
        (HOST_A + 'adress = "y"\n', r"host 'a': unknown field 'adress' \(did you mean 'address'\?\)"),
        ('[defaults]\nusr = "x"\n' + HOST_A, r"\[defaults\]: unknown field 'usr' \(did you mean 'user'\?\)"),
        (HOST_A + '[[hosts]]\nname = "a"\naddress = "y"\n', r"host name 'a' is used twice \(hosts #1 and #2\)"),
        (HOST_A + 'port = "ssh"\n', r"host 'a': field 'port': Input should be a valid integer"),
        (HOST_A + 'port = 70000\n', r"host 'a': field 'port': Input should be less than or equal to 65535"),
        (HOST_A + 'gpus = [0, 0]\n', r"host 'a': field 'gpus': a GPU index is listed twice"),
        ('[[hosts]]\nname = "a b"\naddress = "x"\n', r"host 'a b': field 'name': use letters"),
        (HOST_A + 'env = { "1X" = "y" }\n', r"host 'a': field 'env': '1X' is not a valid environment variable name"),
        ('[defaults]\nname = "a"\n' + HOST_A, r"\[defaults\]: field 'name' belongs in each \[\[hosts\]\] entry"),
        ('[defaults]\nuser = "x"\n', r"no \[\[hosts\]\] entries"),
        ('hosts = "a"\n', r"'hosts' must be written as \[\[hosts\]\] tables"),
        ('[extra]\n' + HOST_A, r"unknown top-level key 'extra'"),
        ('[[hosts]\nname = "a"\n', r"not valid TOML: .*line 1"),
    ],
    ids=["missing-address", "missing-name", "unknown-key", "unknown-default", "duplicate", "port-type", "port-range",
         "gpus-twice", "bad-name", "bad-env", "name-in-defaults", "no-hosts", "hosts-not-tables", "top-level",
         "bad-toml"],
)
def test_bad_inventory_is_one_line_naming_the_field(tmp_path: Path, text: str, expected: str) -> None:
    message = _error(_write(tmp_path, text))
    assert re.search(expected, message), message


def test_unreadable_or_invalid_key_file_names_the_field(tmp_path: Path) -> None:
    missing = _error(_write(tmp_path, '[[hosts]]\nname = "a"\naddress = "x"\nidentity_file = "nope"\n'))
    assert f"host 'a': field 'identity_file': cannot read {tmp_path / 'nope'}: No such file or directory" in missing
    (tmp_path / "adir").mkdir()
    a_dir = _error(_write(tmp_path, '[[hosts]]\nname = "a"\naddress = "x"\nidentity_file = "adir"\n'))
    assert "field 'identity_file': cannot read" in a_dir and "Is a directory" in a_dir
    (tmp_path / "notakey").write_text("hello\n")
    garbage = _error(_write(tmp_path, '[[hosts]]\nname = "a"\naddress = "x"\nidentity_file = "notakey"\n'))
    assert "field 'identity_file':" in garbage and "is not a private key" in garbage
    secret = tmp_path / "locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret", "-f", str(secret)], check=True)
    locked = _error(_write(tmp_path, '[[hosts]]\nname = "a"\naddress = "x"\nidentity_file = "locked"\n'))
    assert "is passphrase-protected" in locked


def test_missing_inventory_file(tmp_path: Path) -> None:
    assert _error(tmp_path / "absent.toml").endswith("absent.toml: no such file")


def test_cli_prints_one_line_and_exits_2_on_bad_inventory(tmp_path: Path) -> None:
    path = _write(tmp_path, '[[hosts]]\nname = "a"\naddress = "x"\nprot = 22\n')
    result = CliRunner().invoke(status_command, ["-i", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "unknown field 'prot' (did you mean 'port'?)" in lines[0]
    assert "Traceback" not in result.output
