"""The processes of a run: one, or one per GPU (or CPU process) under `accelerate launch` / torchrun.

Every process trains; only the main one (rank 0) writes the run folder. The ranks learn each
other's pid and host through the launcher's process group (tensors only, nothing pickled), so the
manifest and the heartbeat can name every process of a run:

    >>> gather_processes()                      # one process: just this one
    (RunProcess(rank=0, pid=..., host='...'),)
"""

from __future__ import annotations

import os
import socket
from typing import NamedTuple

HOST_BYTES = 64


class RunProcess(NamedTuple):
    rank: int
    pid: int
    host: str


def is_main_process() -> bool:
    """True unless this is a non-zero rank of an `accelerate launch` / torchrun job."""
    return int(os.environ.get("RANK", "0")) == 0


def distributed() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _state():
    """accelerate's process state, started the way TrainingArguments will start it (gloo without CUDA)."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def _gather(values: list[int]) -> list[list[int]]:
    """Every rank's `values` (same length on all), in rank order; [values] in a single process."""
    if not distributed():
        return [list(values)]
    import torch
    import torch.distributed as dist

    device = _state().device
    mine = torch.tensor(values, dtype=torch.int64, device=device)
    everyone = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, mine)
    return [row.tolist() for row in everyone]


def gather_processes() -> tuple[RunProcess, ...]:
    """(rank, pid, host) of every process of this run, in rank order. Under a launcher every rank
    must call it: it waits for all of them, so it also marks a point no rank passes before all reach it."""
    host = socket.gethostname().encode()[:HOST_BYTES]
    rank = int(os.environ.get("RANK", "0"))
    rows = _gather([rank, os.getpid(), len(host), *host.ljust(HOST_BYTES, b"\0")])
    return tuple(RunProcess(row[0], row[1], bytes(row[3:3 + row[2]]).decode(errors="replace")) for row in rows)


def gather_ints(value: int) -> list[int]:
    """`value` from every rank, in rank order (e.g. the steps each process took)."""
    return [row[0] for row in _gather([value])]


def any_process(flag: bool) -> bool:
    """True on every rank when `flag` is true on any: a stop asked for on one process (Ctrl-C reaches
    them at different moments) is taken by all at the same step, or the others would wait forever."""
    return max(gather_ints(int(flag))) > 0
