"""A drop-down of the collections in the project folder, re-read on demand."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Select


def collection_choice(project_dir: Path, wanted: str | None = None) -> tuple[list[str], str | None]:
    """The names `assistant collections` lists, and the one to show: `wanted` when it exists, else
    the collection built or updated most recently (None when there is none)."""
    from index.store import list_collections, pick_collection

    infos = list_collections(Path(project_dir))
    return [info.name for info in infos], pick_collection(infos, wanted)


class CollectionSelect(Select[str]):
    def __init__(self, project_dir: Path, value: str | None = None, **kwargs) -> None:
        self.project_dir = Path(project_dir)
        names, chosen = collection_choice(self.project_dir, value)
        super().__init__([(n, n) for n in names], prompt="collection",
                         value=Select.NULL if chosen is None else chosen, **kwargs)

    def reload(self, choose: str | None = None) -> None:
        """Read the collections again, showing `choose` (a collection just built) when given, else
        keeping the current choice when it still exists (else the most recently built one)."""
        before = self.value
        wanted = choose or (None if before is Select.NULL else str(before))
        names, current = collection_choice(self.project_dir, wanted)
        current = Select.NULL if current is None else current
        with self.prevent(Select.Changed):
            self.set_options([(n, n) for n in names])
            if current is not Select.NULL:
                self.value = current
        if current != before:  # only a real change reaches the screen (Browse reloads on it)
            self.post_message(Select.Changed(self, current))

    @property
    def name_or_none(self) -> str | None:
        return None if self.value is Select.NULL else str(self.value)
