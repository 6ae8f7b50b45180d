"""A running `assistant serve` for the server's tests: started on a free loopback port with the
tiny test model, its output kept so a test can look for tracebacks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(project: Path, model_dir: Path, *options: str, key: str | None = None) -> dict:
    """`assistant serve` over `project`; returns base URL, process and its log file. The caller stops it."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(project / "xdg")}
    env.pop("ASSISTANT_API_KEY", None)
    if key:
        env["ASSISTANT_API_KEY"] = key
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
    process = subprocess.Popen([sys.executable, "-m", "assistant", "--project-dir", str(project), "serve", "--port",
                                str(port), "--model", str(model_dir), *options],
                               cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        assert process.poll() is None, Path(log.name).read_text()
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if json.loads(response.read())["status"] == "ok":
                    break
        except OSError:
            time.sleep(0.3)
    return {"base": base, "process": process, "project": project, "log": Path(log.name), "port": port}


def stop_server(server: dict) -> None:
    if server["process"].poll() is None:
        server["process"].kill()
        server["process"].wait(timeout=30)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
