"""The row of tabs at the top of every screen: Index, Train, Chat, Compare."""

from __future__ import annotations

from textual.widgets import Tab, Tabs

SCREENS = (("index", "Index"), ("train", "Train"), ("chat", "Chat"), ("compare", "Compare"))
"""(mode name, label) in tab order; F1 … F4 switch to them."""


class NavTabs(Tabs, can_focus=False):
    """Tabs that switch the app's mode; each screen shows one with its own tab active."""

    def __init__(self, active: str) -> None:
        tabs = [Tab(f"{label} F{n}", id=mode) for n, (mode, label) in enumerate(SCREENS, start=1)]
        super().__init__(*tabs, active=active)

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id and event.tab.id != self.app.current_mode:
            self.app.switch_mode(event.tab.id)
