"""One config for the whole tool: dataclass defaults ← TOML file ← command-line flags.

The TOML file is `assistant.toml` in the working directory, else
`~/.config/assistant/assistant.toml` (or `$XDG_CONFIG_HOME/assistant/`), else none:

    project_dir = ".assistant"

    [index]
    embedder = "all-MiniLM-L6-v2"
    chunk_tokens = 200

    [retrieval]
    mode = "hybrid"
    k = 10
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from index.config import IndexConfig, RetrievalConfig

CONFIG_NAME = "assistant.toml"
SECTIONS = {"index": IndexConfig, "retrieval": RetrievalConfig}


class ConfigError(Exception):
    """A config file or value is wrong; the message names the file and the key."""


@dataclass
class Config:
    project_dir: Path = Path(".assistant")
    """Where collections, runs and experiments live."""
    index: IndexConfig = field(default_factory=IndexConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    source: Path | None = None
    """The TOML file these settings came from, if any."""


def config_candidates() -> list[Path]:
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path.cwd() / CONFIG_NAME, Path(xdg) / "assistant" / CONFIG_NAME]


def _section(cls, values: dict, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from err


def load_config(path: Path | None = None) -> Config:
    """Read `path`, or the first config file found, or return the defaults."""
    if path is None:
        path = next((p for p in config_candidates() if p.is_file()), None)
        if path is None:
            return Config()
    elif not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML ({err})") from err
    config = Config(source=path)
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] must be a table")
            setattr(config, key, _section(SECTIONS[key], value, f"{path} [{key}]"))
        elif key == "project_dir":
            config.project_dir = (path.parent / value) if not Path(value).is_absolute() else Path(value)
        else:
            raise ConfigError(f"{path}: unknown key {key!r}; known: project_dir, {', '.join(SECTIONS)}")
    return config


def override(section, **flags):
    """A copy of a config section with the flags that were given (not None) applied."""
    given = {k: v for k, v in flags.items() if v is not None}
    if not given:
        return section
    try:
        return dataclasses.replace(section, **given)
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from err
