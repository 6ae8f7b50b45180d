"""Fixtures for driving the TUI: a project with a built collection and an adapter, a tiny model,
and `wait_until` for work that runs in Textual workers."""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# An editable install made before tui/ existed does not map it; the checkout holds it.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXTURES = ROOT / "tests" / "fixtures"
DOCS = FIXTURES / "docs_mixed"
TRAIN_DATA = FIXTURES / "finetune" / "quillmere.jsonl"
SIZE = (100, 30)
"""Terminal size for the functional tests (the snapshots use 80×24 as well)."""


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests here with asyncio.run (no async plugin needed for App.run_test)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True


async def wait_until(pilot, condition, timeout: float = 120.0, what: str = "") -> None:
    """Let the app run until `condition()` is true (workers post their results as messages)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        await asyncio.sleep(0.05)
        await pilot.pause()
    await pilot.pause(0.1)  # one more frame, so the screen shows what the handlers set


class Inbox:
    """A message_hook for run_test that keeps each message of the given kinds once (a bubbling
    message reaches several nodes)."""

    def __init__(self, *kinds) -> None:
        self.kinds = kinds
        self.messages: list = []

    def __call__(self, message) -> None:
        if isinstance(message, self.kinds) and not any(m is message for m in self.messages):
            self.messages.append(message)

    def of(self, kind) -> list:
        return [m for m in self.messages if isinstance(m, kind)]


def screen_text(app) -> str:
    """What the terminal shows right now, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


@pytest.fixture(scope="session")
def tui_project(tmp_path_factory, tiny_model_dir, make_lora) -> Path:
    """A project folder with collection "docs" (the mixed fixtures) and a finished LoRA run "tuned"."""
    from index.build import build_collection
    from index.store import Collection

    root = tmp_path_factory.mktemp("tui-project")
    build_collection([DOCS], Collection(root, "docs"))
    run = root / "runs" / "tuned"
    make_lora(tiny_model_dir, run / "adapter")
    (run / "run.json").write_text(json.dumps({"name": "tuned", "status": "finished", "base": str(tiny_model_dir),
                                              "method": "lora", "created": "2026-01-01T00:00:00",
                                              "metrics": {"steps": 4}}))
    return root


def make_config(project: Path, tiny_model_dir: Path, **finetune):
    from assistant.config import ChatConfig, Config, GenerationConfig, ModelConfig
    from finetune.config import TrainConfig

    train = dict(base=str(tiny_model_dir), method="lora", data=[str(TRAIN_DATA)], max_steps=3, batch_size=4,
                 logging_steps=1, eval_split=0.0, save_steps=2, max_length=128, warmup_ratio=0.0,
                 scheduler="constant", lr=3e-2)
    train.update(finetune)
    return Config(project_dir=project, model=ModelConfig(name=str(tiny_model_dir), device="cpu"),
                  generation=GenerationConfig(max_new_tokens=8, repetition_penalty=1.0),
                  chat=ChatConfig(collection="docs"), finetune=TrainConfig(**train))


@pytest.fixture
def tui_config(tui_project, tiny_model_dir):
    return make_config(tui_project, tiny_model_dir)


@pytest.fixture
def two_collections(tmp_path, tui_project) -> Path:
    """A project with collections "alpha" and "zulu" (copies of "docs"): "zulu" was updated last
    but sorts last by name, and "alpha"'s CURRENT pointer was written last."""
    import os
    import shutil

    from index.store import CURRENT, Collection

    root = tmp_path / "two"
    for name, updated, published_ns in [("zulu", "2026-03-01T09:00:00+0000", 1_000_000_000),
                                        ("alpha", "2026-01-01T09:00:00+0000", 2_000_000_000)]:
        shutil.copytree(tui_project / "collections" / "docs", root / "collections" / name)
        manifest_path = Collection(root, name).version_dir() / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest.update(name=name, updated=updated)
        manifest_path.write_text(json.dumps(manifest))
        os.utime(root / "collections" / name / CURRENT, ns=(published_ns, published_ns))
    return root
