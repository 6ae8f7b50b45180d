"""Device names, checked without importing torch (configs check them before anything loads)."""

from __future__ import annotations

import re

_DEVICE = re.compile(r"auto|cpu|mps|(?:cuda|xpu|npu)(?::\d+)?")


def device_problem(device: str) -> str | None:
    """Why `device` names no device torch knows, or None.

    >>> device_problem("cuda:1"), device_problem("nonsense")
    (None, "device 'nonsense': use auto, cpu, cuda, cuda:N or mps")
    """
    if isinstance(device, str) and _DEVICE.fullmatch(device):
        return None
    return f"device {device!r}: use auto, cpu, cuda, cuda:N or mps"


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX): there bf16 weights decode
    1.8× faster than float32 (bench/results/decode_options.md); elsewhere bf16 is emulated and slow.
    Read from /proc/cpuinfo's flags; False where there is none (macOS, Windows).

    >>> cpu_has_bf16("flags : fpu avx2 avx512f avx512_bf16"), cpu_has_bf16("flags : fpu avx2 avx512f")
    (True, False)
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return False
    flags = {flag for line in cpuinfo.splitlines() if line.startswith("flags") for flag in line.split()}
    return bool(flags & {"avx512_bf16", "amx_bf16"})


__all__ = ["cpu_has_bf16", "device_problem"]
