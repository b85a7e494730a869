"""RAPL on a fake powercap tree, the spec-based memory estimate, peak RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakeoff.core.model import ModelInfo
from bakeoff.speed.resources import (
    EnergyMeter,
    RaplReader,
    estimate_memory,
    gpu_memory_bytes,
    peak_rss_bytes,
    process_tree,
    reset_peak_rss,
)


def zone(root: Path, name: str, energy: int, max_range: int = 262_143_328_850) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "energy_uj").write_text(f"{energy}\n")
    (path / "max_energy_range_uj").write_text(f"{max_range}\n")
    (path / "name").write_text("package-0\n")
    return path


def set_energy(path: Path, value: int) -> None:
    (path / "energy_uj").write_text(f"{value}\n")


def test_rapl_sums_packages_skips_subzones_and_handles_wraparound(tmp_path: Path) -> None:
    pkg0 = zone(tmp_path, "intel-rapl:0", 1_000_000, max_range=10_000_000)
    pkg1 = zone(tmp_path, "intel-rapl:1", 9_500_000, max_range=10_000_000)
    core = zone(tmp_path, "intel-rapl:0:0", 5_000)  # inside package 0: must not be added
    reader = RaplReader(tmp_path)
    assert reader.available
    assert [z.path.name for z in reader.zones] == ["intel-rapl:0", "intel-rapl:1"]
    start = reader.read()
    set_energy(pkg0, 3_500_000)  # +2.5 J
    set_energy(pkg1, 500_000)  # wrapped: 9.5 J → 10 J (range) → 0.5 J, i.e. +1.0 J
    set_energy(core, 999_999_999)
    assert reader.joules_between(start, reader.read()) == pytest.approx(3.5)


def test_energy_meter_reports_rapl_joules(tmp_path: Path) -> None:
    pkg = zone(tmp_path, "intel-rapl:0", 100)
    meter = EnergyMeter(tmp_path, use_gpu=False)
    meter.start()
    set_energy(pkg, 42_000_100)
    reading = meter.stop()
    assert reading.joules == pytest.approx(42.0)
    assert reading.source.startswith("RAPL")
    assert reading.per_1k_tokens(2000) == pytest.approx(21.0)


def test_missing_powercap_is_not_measurable(tmp_path: Path) -> None:
    reading = EnergyMeter(tmp_path / "absent", use_gpu=False)
    reading.start()
    result = reading.stop()
    assert result.joules is None
    assert "absent" in result.note
    assert result.per_1k_tokens(1000) is None


def test_unreadable_counter_is_not_measurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Since Linux 5.10 energy_uj is root-only; tests may run as root, so the denial is simulated
    # at the one call that meets it.
    zone(tmp_path, "intel-rapl:0", 100)
    original = Path.read_text

    def deny(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", deny)
    reader = RaplReader(tmp_path)
    assert not reader.available
    assert "permission denied" in reader.problem
    meter = EnergyMeter(tmp_path, use_gpu=False)
    meter.start()
    assert meter.stop().joules is None


def test_memory_estimate_gemma3_270m_by_hand() -> None:
    # Gemma 3 270M GGUF: 18 layers, 1 KV head, head dim 256; f16 cache = 2 bytes per element.
    info = ModelInfo(
        name="g",
        backend="llamacpp",
        source="x",
        file_bytes=253_113_024,
        n_layers=18,
        n_heads=4,
        n_kv_heads=1,
        head_dim=256,
        embedding_length=640,
    )
    estimate = estimate_memory(info, context=2048)
    assert estimate.kv_bytes_per_token == 2 * 18 * 1 * 256 * 2 == 18_432
    assert estimate.kv_bytes == 18_432 * 2048
    assert estimate.total_bytes == 253_113_024 + 37_748_736


def test_memory_estimate_llama2_7b_from_parameters() -> None:
    # Llama-2-7B: 32 layers, 32 heads (no GQA), 4096 wide → head dim 128: 0.5 MiB/token of
    # f16 KV, the figure usually quoted; Q4_0 weights at 4.5 bits: 6.74e9 × 4.5 / 8 bytes.
    info = ModelInfo(
        name="l",
        backend="x",
        source="x",
        parameters=6_738_415_616,
        quantization="Q4_0",
        n_layers=32,
        n_heads=32,
        embedding_length=4096,
    )
    estimate = estimate_memory(info, context=4096)
    assert estimate.kv_bytes_per_token == 524_288
    assert estimate.weights_bytes == 3_790_358_784
    assert estimate.total_bytes == 3_790_358_784 + 524_288 * 4096


def test_memory_estimate_says_when_it_cannot() -> None:
    estimate = estimate_memory(ModelInfo(name="x", backend="openai", source="u"), context=1024)
    assert estimate.total_bytes is None
    assert "unknown" in estimate.note


def test_peak_rss_grows_with_allocation() -> None:
    before = peak_rss_bytes()
    assert before is not None
    assert before > 10 * 2**20
    block = b"\x01" * (before + 64 * 2**20)  # written, so resident: well past the peak
    after = peak_rss_bytes()
    assert after is not None
    assert after >= before + 64 * 2**20
    del block
    assert peak_rss_bytes(pid=2**22 + 12345) is None  # no such process


def test_no_nvml_means_no_gpu_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails, as without the package
    assert gpu_memory_bytes() is None
    meter = EnergyMeter(tmp_path, use_gpu=True)
    meter.start()
    assert meter.stop().joules is None


def test_peak_rss_reset_forgets_an_earlier_peak() -> None:
    block = b"\x01" * (256 * 2**20)  # resident while it lives
    high = peak_rss_bytes()
    del block  # a large block is unmapped on release: RSS falls back
    if not reset_peak_rss():
        pytest.skip("this kernel does not allow resetting the peak RSS")
    after = peak_rss_bytes()
    assert high is not None
    assert after is not None
    assert after < high - 128 * 2**20


# -- NVML, faked: CI never has a GPU, so the NVML code paths run against scripted values ------


def fake_nvml(
    monkeypatch: pytest.MonkeyPatch,
    processes: list[list[tuple[int, int | None]]],
    energy_mj: list[list[int]] | None = None,
    used: list[int] | None = None,
    init_error: Exception | None = None,
) -> types.ModuleType:
    """Install a fake ``pynvml`` exposing only the calls resources.py makes.

    ``processes[d]`` lists (pid, usedGpuMemory) on device d; ``energy_mj[k]`` is the per-device
    counter at the k-th energy read (start, then stop); ``used[d]`` is device d's used memory.
    """
    module = types.ModuleType("pynvml")
    reads: Iterator[list[int]] = iter(energy_mj or [])
    current: dict[str, list[int]] = {}

    def nvml_init() -> None:
        if init_error is not None:
            raise init_error

    def handle(index: int) -> int:
        assert 0 <= index < len(processes)
        return index

    def running(h: int) -> list[types.SimpleNamespace]:
        return [types.SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in processes[h]]

    def energy(h: int) -> int:
        # One read of all devices per start()/stop(): advance the script at device 0.
        if h == 0:
            current["mj"] = next(reads)
        return current["mj"][h]

    module.nvmlInit = nvml_init  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: len(processes)  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = handle  # type: ignore[attr-defined]
    module.nvmlDeviceGetComputeRunningProcesses = running  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(  # type: ignore[attr-defined]
        used=(used or [])[h]
    )
    module.nvmlDeviceGetTotalEnergyConsumption = energy  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return module


@pytest.fixture
def child() -> Iterator[int]:
    """A real child of this process, so the descendant lookup reads the real /proc."""
    proc = subprocess.Popen(["sleep", "60"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_process_tree_finds_a_real_child(child: int) -> None:
    tree = process_tree(os.getpid())
    assert {os.getpid(), child} <= tree
    assert os.getppid() not in tree  # the parent is not a descendant
    assert process_tree(child) == {child}


def test_gpu_memory_of_a_pid_sums_it_and_its_descendants(
    monkeypatch: pytest.MonkeyPatch, child: int
) -> None:
    me, stranger = os.getpid(), os.getppid()
    fake_nvml(
        monkeypatch,
        processes=[
            [(me, 1 * 2**30), (child, 2 * 2**30), (stranger, 8 * 2**30), (child, None)],
            [(child, 512 * 2**20)],  # a second GPU: the child's share there counts too
        ],
        used=[20 * 2**30, 3 * 2**30],
    )
    assert gpu_memory_bytes(me) == 1 * 2**30 + 2 * 2**30 + 512 * 2**20
    assert gpu_memory_bytes(child) == 2 * 2**30 + 512 * 2**20  # no ancestor counted
    assert gpu_memory_bytes() == 23 * 2**30  # no pid: all memory used on all GPUs


def test_nvml_energy_per_1k_tokens_from_counter_deltas(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Millijoules per device: GPU 0 +30 J, GPU 1 +10 J over the interval.
    fake_nvml(
        monkeypatch,
        processes=[[], []],
        energy_mj=[[1_000_000, 500_000], [1_030_000, 510_000]],
    )
    meter = EnergyMeter(tmp_path / "absent", use_gpu=True)
    meter.start()
    reading = meter.stop()
    assert reading.source.startswith("NVML")
    assert reading.joules == pytest.approx(40.0)
    assert reading.per_1k_tokens(2000) == pytest.approx(20.0)


def test_nvml_init_failure_is_not_measurable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_nvml(
        monkeypatch,
        processes=[[(os.getpid(), 2**30)]],
        energy_mj=[[1_000], [2_000]],
        used=[2**30],
        init_error=RuntimeError("NVML_ERROR_DRIVER_NOT_LOADED"),
    )
    assert gpu_memory_bytes() is None
    assert gpu_memory_bytes(os.getpid()) is None
    meter = EnergyMeter(tmp_path / "absent", use_gpu=True)
    meter.start()
    reading = meter.stop()
    assert reading.joules is None
    assert reading.source == "none"
    assert reading.per_1k_tokens(1000) is None
