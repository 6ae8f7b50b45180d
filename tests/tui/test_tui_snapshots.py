"""SVG snapshots of each screen in its first state, at 80×24 and 120×35 (dark) and once in the light theme.

Update after a deliberate change of looks: pytest tests/tui --snapshot-update
"""

from __future__ import annotations

import pytest

from assistant.config import ChatConfig, Config
from tui.app import make_app

SMALL = (80, 24)
LARGE = (120, 35)


@pytest.fixture
def looks_config(tui_project):
    """The project with collection "docs"; model and training settings left at their defaults, so
    no temporary path shows on screen."""
    return Config(project_dir=tui_project, chat=ChatConfig(collection="docs"))


@pytest.mark.parametrize("screen", ["index", "train", "chat", "compare"])
def test_each_screen_at_80x24(snap_compare, looks_config, screen):
    assert snap_compare(make_app(looks_config, start=screen), terminal_size=SMALL)


@pytest.mark.parametrize("screen", ["index", "train", "chat", "compare"])
def test_each_screen_at_120x35(snap_compare, looks_config, screen):
    """The size the layout issues were seen at besides 80×24: Compare's two answers a row, Index's
    text column wide."""
    assert snap_compare(make_app(looks_config, start=screen), terminal_size=LARGE)


def test_chat_in_the_light_theme(snap_compare, looks_config):
    assert snap_compare(make_app(looks_config, start="chat", theme="textual-light"), terminal_size=SMALL)


def test_f_keys_switch_screens(snap_compare, looks_config):
    """Start on Index, press F2: the Train screen with its tab active."""
    assert snap_compare(make_app(looks_config, start="index"), terminal_size=SMALL, press=["f2"])
