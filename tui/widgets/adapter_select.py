"""A drop-down of the fine-tuned adapters (training runs that saved one), plus "no adapter"."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Select


def adapter_names(project_dir: Path) -> list[str]:
    """Run names whose run folder holds an adapter/, newest first (`assistant adapters list`)."""
    from finetune.runs import list_runs

    return [run.name for run in list_runs(Path(project_dir)) if run.output is not None and run.output.name == "adapter"]


class AdapterSelect(Select[str]):
    def __init__(self, project_dir: Path, value: str | None = None, **kwargs) -> None:
        self.project_dir = Path(project_dir)
        names = adapter_names(self.project_dir)
        if value is not None and value not in names:
            names.append(value)  # an adapter folder from the config, outside runs/
        super().__init__([(n, n) for n in names], prompt="no adapter", value=value or Select.NULL, **kwargs)

    def reload(self) -> None:
        names = adapter_names(self.project_dir)
        current = self.value
        if current is not Select.NULL and current not in names:
            names.append(str(current))
        with self.prevent(Select.Changed):
            self.set_options([(n, n) for n in names])
            if current is not Select.NULL:
                self.value = current

    @property
    def name_or_none(self) -> str | None:
        return None if self.value is Select.NULL else str(self.value)
