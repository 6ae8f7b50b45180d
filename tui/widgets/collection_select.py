"""A drop-down of the collections in the project folder, re-read on demand."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Select


def collection_names(project_dir: Path) -> list[str]:
    """Names of the collections that can be opened, as `assistant collections` lists them."""
    from index.store import list_collections

    return [info.name for info in list_collections(Path(project_dir))]


class CollectionSelect(Select[str]):
    def __init__(self, project_dir: Path, value: str | None = None, **kwargs) -> None:
        self.project_dir = Path(project_dir)
        names = collection_names(self.project_dir)
        if value is not None and value not in names:
            value = None
        super().__init__([(n, n) for n in names], prompt="collection", value=value or (names[0] if names else
                                                                                         Select.NULL), **kwargs)

    def reload(self) -> None:
        """Read the collections again, keeping the current choice when it still exists."""
        names = collection_names(self.project_dir)
        before = self.value
        current = before if before in names else (names[0] if names else Select.NULL)
        with self.prevent(Select.Changed):
            self.set_options([(n, n) for n in names])
            if current is not Select.NULL:
                self.value = current
        if current != before:  # only a real change reaches the screen (Browse reloads on it)
            self.post_message(Select.Changed(self, current))

    @property
    def name_or_none(self) -> str | None:
        return None if self.value is Select.NULL else str(self.value)
