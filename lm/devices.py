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


__all__ = ["device_problem"]
