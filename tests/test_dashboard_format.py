"""What the dashboard shows for a worker's /status, its compute device and its units (no app needed)."""

from __future__ import annotations

from remote_worker.protocol import ReplicaStatus, StatusResponse
from tests.support.replay import FakeClock, book_events, replay
from tui.core.state import RunState
from tui.dashboard.status_fields import field_label, field_value, status_rows
from tui.dashboard.widgets.workers import worker_cells


def _rows(**fields) -> dict[str, str]:
    return dict(status_rows(StatusResponse(**fields).model_dump()))


def test_every_status_field_reads_as_a_person_would_say_it() -> None:
    rows = _rows(status="busy", current_chapter="c0002-u0008", engine="piper", provider="CPUExecutionProvider",
                 uptime_seconds=4000, audio_seconds=382.6880725623583, synthesis_seconds=2.34, units_done=1234)
    assert rows["Current unit"] == "3.9"
    assert rows["Provider"] == "CPU"
    assert rows["Uptime"] == "1:06:40" and rows["Audio made"] == "6:23" and rows["Synthesis time"] == "2.3 s"
    assert rows["Units done"] == "1,234"
    assert rows["GPU"] == rows["GPU memory free"] == rows["GPU utilisation"] == "—"  # no GPU: not "0 MB"
    assert rows["Model memory"] == "—" and rows["Version"] == "—" and rows["Languages"] == "—"
    assert not any(value in ("None", "[]", "") for value in rows.values())
    assert not any("_" in label for label in rows)


def test_gpu_fields_and_replicas() -> None:
    rows = _rows(device="cuda", provider="torch-cuda", gpu_name="NVIDIA A10", gpu_memory_used_mb=6144.0,
                 gpu_memory_total_mb=24576.0, gpu_memory_free_mb=18432, gpu_utilization_percent=87.4,
                 model_memory_mb=1900.0, speakers=[f"s{i}" for i in range(10)],
                 replica_status=[ReplicaStatus(index=0, busy=True, current_chapter="c0000-u0001", units_done=3,
                                               busy_seconds=75.0, model_memory_mb=950.0),
                                 ReplicaStatus(index=1)])
    assert rows["GPU memory used"] == "6.0 GB" and rows["GPU memory total"] == "24.0 GB"
    assert rows["GPU memory free"] == "18.0 GB" and rows["GPU utilisation"] == "87%"
    assert rows["Model memory"] == "1.9 GB"
    assert rows["Replica 1"] == "busy on 1.2 · 3 units · busy 1:15 · model 950 MB"
    assert rows["Replica 2"] == "idle · 0 units"
    assert rows["Speakers"] == "s0, s1, s2, s3, s4, s5, s6, s7 +2 more"


def test_fields_not_known_yet_are_named_and_formatted_by_their_suffix() -> None:
    assert field_label("queue_wait_seconds") == "Queue wait" and field_label("gpu_temp") == "GPU temp"
    assert field_value("queue_wait_seconds", 0.26) == "0.3 s" and field_value("uptime_seconds", 45) == "45 s"
    assert field_value("cache_bytes", 3 * 1024 ** 3) == "3.0 GB"
    assert field_value("hit_ratio", 0.5) == "50%"
    assert field_value("warm", True) == "yes" and field_value("warm", False) == "no"
    assert field_value("load", 0.123456) == "0.12" and field_value("anything", None) == "—"
    assert field_value("limits", {"max_chars": 4000}) == "max chars 4,000"


def test_worker_row_names_the_provider_and_the_unit_as_the_user_counts() -> None:
    clock = FakeClock()
    state = RunState(clock=clock)
    replay(state, clock, book_events())
    cpu, gpu = state.workers["local-1"], state.workers["gpu-a-0"]
    assert str(worker_cells(cpu, 0.0, 0.0)["engine"]) == "piper CPU"
    assert str(worker_cells(gpu, 0.0, 0.0)["engine"]) == "xtts CUDA"
    assert str(worker_cells(gpu, 0.0, 0.0)["current"]) == "2.3"  # c0001-u0002: chapter 2, unit 3
