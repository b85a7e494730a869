"""Memory and energy: peak RSS, GPU memory (NVML), a spec-based estimate, RAPL/NVML energy.

Nothing here invents a figure: a counter that is absent or unreadable gives ``None`` plus a
reason, which the report prints as "not measurable here (reason)".
"""

from __future__ import annotations

import importlib
import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakeoff.core.model import ModelInfo

POWERCAP = Path("/sys/class/powercap")
NOT_MEASURABLE = "not measurable here"

# Bits per weight of llama.cpp quantizations (block scales included), for specs without a file.
BITS_PER_WEIGHT = {"F32": 32.0, "F16": 16.0, "BF16": 16.0, "Q8_0": 8.5, "Q6_K": 6.5625,
                   "Q5_K_M": 5.5, "Q5_K_S": 5.5, "Q5_0": 5.5, "Q5_1": 6.0, "Q4_K_M": 4.5,
                   "Q4_K_S": 4.5, "Q4_0": 4.5, "Q4_1": 5.0, "Q3_K_M": 3.4375, "Q3_K_S": 3.4375,
                   "Q3_K_L": 3.4375, "Q2_K": 2.625}  # fmt: skip


# -- memory ---------------------------------------------------------------------------------


def peak_rss_bytes(pid: int | None = None) -> int | None:
    """Peak resident set (VmHWM) of ``pid`` (default: this process), or None if unreadable."""
    target = os.getpid() if pid is None else pid
    try:
        for line in Path(f"/proc/{target}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes
    return None


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux ≥ 4.0: "5" > clear_refs).

    Run before loading each in-process model, so one model's peak does not carry into the next
    one's figure. False where the kernel does not allow it (the report then says so).
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _nvml() -> Any | None:
    """pynvml, initialised, or None (not installed, no driver, no GPU)."""
    try:
        pynvml = importlib.import_module("pynvml")
        pynvml.nvmlInit()
    except Exception:  # any failure means "no NVIDIA GPU here"
        return None
    return pynvml


def process_tree(pid: int) -> set[int]:
    """``pid`` and all its descendants, from the ppid field of every ``/proc/N/stat``.

    Scanning /proc works on every Linux kernel, unlike ``/proc/N/task/T/children``, which needs
    CONFIG_PROC_CHILDREN. A process that exits mid-scan is skipped.
    """
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # comm (field 2) may hold spaces and ")": the fields after the last ")" are safe.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    tree = {pid}
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in tree:
                tree.add(child)
                todo.append(child)
    return tree


def gpu_memory_bytes(pid: int | None = None) -> int | None:
    """GPU memory used by ``pid`` and its descendants (or by all processes when pid is None)
    over all NVIDIA GPUs."""
    nvml = _nvml()
    if nvml is None:
        return None
    # vLLM V1 holds the GPU memory in a child (EngineCore) of the server process, so the
    # server's own pid alone would read ~0: count the whole process tree.
    pids = None if pid is None else process_tree(pid)
    total = 0
    try:
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            if pid is None:
                total += int(nvml.nvmlDeviceGetMemoryInfo(handle).used)
                continue
            for proc in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if pids is not None and proc.pid in pids and proc.usedGpuMemory is not None:
                    total += int(proc.usedGpuMemory)
    except Exception:
        return None
    return total


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    weights_bytes: int | None
    kv_bytes_per_token: int | None
    context: int
    note: str = ""

    @property
    def kv_bytes(self) -> int | None:
        return None if self.kv_bytes_per_token is None else self.kv_bytes_per_token * self.context

    @property
    def total_bytes(self) -> int | None:
        if self.weights_bytes is None or self.kv_bytes is None:
            return None
        return self.weights_bytes + self.kv_bytes


def estimate_memory(info: ModelInfo, context: int, kv_element_bytes: float = 2.0) -> MemoryEstimate:
    """Weights + KV cache for ``context`` tokens, from the model's spec.

    KV bytes/token = 2 (K and V) × layers × KV heads × head dim × bytes per element (f16: 2).
    head dim = ``head_dim`` or embedding length / heads. Weights = the file size when known, else
    parameters × bits per weight of the quantization. Sliding-window layers are not modelled, so
    for such models (Gemma 3) the KV figure is an upper bound.
    """
    weights: int | None = info.file_bytes
    if weights is None and info.parameters and info.quantization in BITS_PER_WEIGHT:
        weights = int(info.parameters * BITS_PER_WEIGHT[info.quantization] / 8)
    head_dim = info.head_dim
    if head_dim is None and info.embedding_length and info.n_heads:
        head_dim = info.embedding_length // info.n_heads
    kv_heads = info.n_kv_heads or info.n_heads
    per_token: int | None = None
    if info.n_layers and kv_heads and head_dim:
        per_token = int(2 * info.n_layers * kv_heads * head_dim * kv_element_bytes)
    note = "" if per_token is not None else "KV size unknown: layers/heads/head dim missing"
    return MemoryEstimate(weights, per_token, context, note)


# -- energy ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnergyReading:
    joules: float | None
    source: str
    note: str = ""

    def per_1k_tokens(self, output_tokens: int) -> float | None:
        if self.joules is None or output_tokens <= 0:
            return None
        return self.joules * 1000.0 / output_tokens


@dataclass(frozen=True, slots=True)
class _Zone:
    path: Path
    max_range_uj: int


class RaplReader:
    """Package-level RAPL zones (``intel-rapl:N``; AMD exposes the same names) under powercap.

    Sub-zones (``intel-rapl:N:M``: core, uncore, dram) are inside their package's count and are
    skipped so nothing is counted twice. A counter wraps at ``max_energy_range_uj``; one wrap
    per interval is handled, which holds for intervals under ~an hour at package power.
    """

    def __init__(self, root: Path = POWERCAP) -> None:
        self.root = root
        self.zones: list[_Zone] = []
        self.problem = ""
        if not root.is_dir():
            self.problem = f"no RAPL counters ({root} absent)"
            return
        for zone in sorted(root.glob("intel-rapl:*")):
            if zone.name.count(":") != 1 or not (zone / "energy_uj").exists():
                continue
            try:
                max_range = int((zone / "max_energy_range_uj").read_text())
                int((zone / "energy_uj").read_text())
            except PermissionError:
                self.problem = (
                    f"RAPL counters not readable ({zone / 'energy_uj'}: permission denied)"
                )
                self.zones = []
                return
            except (OSError, ValueError) as exc:
                self.problem = f"RAPL counter unreadable ({zone}: {exc})"
                continue
            self.zones.append(_Zone(zone, max_range))
        if not self.zones and not self.problem:
            self.problem = f"no RAPL package zones under {root}"

    @property
    def available(self) -> bool:
        return bool(self.zones)

    def read(self) -> list[int]:
        return [int((z.path / "energy_uj").read_text()) for z in self.zones]

    def joules_between(self, start: list[int], end: list[int]) -> float:
        total = 0
        for zone, a, b in zip(self.zones, start, end, strict=True):
            total += b - a if b >= a else b + zone.max_range_uj - a
        return total / 1e6


class EnergyMeter:
    """Energy over an interval: NVML when a GPU is present, else RAPL, else not measurable."""

    def __init__(self, rapl_root: Path = POWERCAP, use_gpu: bool = True) -> None:
        self._nvml = _nvml() if use_gpu else None
        self._rapl = RaplReader(rapl_root)
        self._start_gpu: int | None = None
        self._start_rapl: list[int] = []

    def start(self) -> None:
        self._start_gpu = self._gpu_millijoules()
        self._start_rapl = self._safe_rapl()

    def stop(self) -> EnergyReading:
        gpu = self._gpu_millijoules()
        if gpu is not None and self._start_gpu is not None:
            return EnergyReading((gpu - self._start_gpu) / 1000.0, "NVML total energy (GPU)")
        end = self._safe_rapl()
        if self._start_rapl and end:
            joules = self._rapl.joules_between(self._start_rapl, end)
            return EnergyReading(joules, "RAPL package counters (CPU, whole machine)")
        return EnergyReading(None, "none", self._rapl.problem or "RAPL counters unreadable")

    def _safe_rapl(self) -> list[int]:
        if not self._rapl.available:
            return []
        try:
            return self._rapl.read()
        except (OSError, ValueError) as exc:
            self._rapl.problem = f"RAPL read failed: {exc}"
            return []

    def _gpu_millijoules(self) -> int | None:
        if self._nvml is None:
            return None
        try:
            count = self._nvml.nvmlDeviceGetCount()
            return sum(
                int(
                    self._nvml.nvmlDeviceGetTotalEnergyConsumption(
                        self._nvml.nvmlDeviceGetHandleByIndex(i)
                    )
                )
                for i in range(count)
            )
        except Exception:  # older GPUs have no energy counter
            return None
