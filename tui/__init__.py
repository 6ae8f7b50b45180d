"""The terminal app (`assistant tui`): index, train, chat and compare, one screen each.

Built with Textual over the same library calls as the CLI; `make_app(config)` in tui.app builds it
for the CLI and for the tests. Nothing under index/ or finetune/ imports this package.
"""
