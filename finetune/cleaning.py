"""Cleaning training data before a step is trained: the steps of `assistant data clean`,
`finetune --clean` and the counts `data inspect` reports, each change named by file:line.

Steps, in order: text normalised (normalize.py) and personal data scrubbed (personal.py) in every
text field of a record; records too short or too long dropped; exact duplicates (by the
normalised key) and near-duplicates (near_duplicates.py) dropped, the first kept; conflicting
answers to one prompt reported (or dropped); records whose prompt is in the eval data dropped.

    >>> from finetune.data import load_file
    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "qa.jsonl").write_text(
    ...     '{"instruction": "Port?", "output": "7431"}\\n{"instruction": "port ?", "output": "7431"}\\n'
    ...     '{"instruction": "Mail?", "output": "ann@example.com"}\\n')
    >>> result = clean_files([load_file(folder / "qa.jsonl")], CleanConfig())
    >>> [str(change) for change in result.changes]
    ['.../qa.jsonl:2: duplicate of .../qa.jsonl:1 (removed)', '.../qa.jsonl:3: personal data: EMAIL']
    >>> result.files[0].records[-1]
    {'instruction': 'Mail?', 'output': '<EMAIL>'}
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.errors import ConfigError

from .data import load_file
from .formats import TEMPLATES, formats_with
from .near_duplicates import THRESHOLD, near_duplicate_pairs
from .normalize import duplicate_key, normalize
from .personal import scrub
from .types import Example
from .writers import write_records

PERSONAL = ("scrub", "report", "off")
CONFLICTS = ("report", "drop")


@dataclass
class CleanConfig:
    """What `data clean` does; `[data]` in assistant.toml, flags of `data clean` override it."""

    columns: dict[str, str] = field(default_factory=dict)
    """The file's fields read as a format's: {instruction = "question", output = "answer"}."""
    normalize: bool = True
    """NFKC, whitespace, control characters, terminal colour codes, HTML remnants."""
    personal: str = "scrub"
    """scrub (to <EMAIL>, <PHONE>, <ID_NUMBER>, <BANK_CARD>, <BANK_ACCOUNT>), report, or off."""
    near_duplicates: float = THRESHOLD
    """Shingle similarity from which two records (prompt and answer both) are one; 0 turns it off.
    For data of prompts alone raise it to 0.9: alike questions can ask different things."""
    min_chars: int = 1
    """Records with fewer characters of text are dropped."""
    max_chars: int = 0
    """Records with more characters are dropped; 0: no limit."""
    conflicts: str = "report"
    """One prompt, different answers: report them, or drop every record of the conflict."""

    def __post_init__(self) -> None:
        if self.personal not in PERSONAL:
            raise ConfigError(f"personal must be one of {', '.join(PERSONAL)}, not {self.personal!r}")
        if self.conflicts not in CONFLICTS:
            raise ConfigError(f"conflicts must be report or drop, not {self.conflicts!r}")
        if not 0 <= self.near_duplicates <= 1:
            raise ConfigError(f"near_duplicates must be between 0 (off) and 1, not {self.near_duplicates}")
        if self.min_chars < 0 or self.max_chars < 0:
            raise ConfigError("min_chars and max_chars must be 0 or more")
        if not isinstance(self.columns, dict) or not all(isinstance(v, str) for v in self.columns.values()):
            raise ConfigError('columns must be a table of field names: {instruction = "question"}')


@dataclass(frozen=True)
class Change:
    origin: str
    step: str
    """normalised, personal data, empty after cleaning, too short, too long, duplicate, near
    duplicate, conflict, in eval data."""
    detail: str = ""
    """"of data.jsonl:3" for a duplicate, "at eval.jsonl:2" for eval overlap, else what changed."""
    removed: bool = False
    kinds: tuple[str, ...] = ()
    """Personal data: the kind of each piece found ("EMAIL", "PHONE", "EMAIL")."""

    def __str__(self) -> str:
        joined = " " if self.detail.startswith(("of ", "at ")) else ": "
        return f"{self.origin}: {self.step}" + (joined + self.detail if self.detail else "") + \
            (" (removed)" if self.removed else "")


@dataclass
class CleanedFile:
    path: str
    kind: str
    format: str
    records: list[dict]
    """Records kept, cleaned, as the file holds them (its own field names)."""
    examples: list[Example]
    read: int = 0
    """Records read from the file (bad ones aside): read - len(records) were removed."""


@dataclass
class CleanResult:
    files: list[CleanedFile]
    changes: list[Change]

    @property
    def examples(self) -> list[Example]:
        return [example for file in self.files for example in file.examples]

    def counts(self) -> Counter:
        """Records per step: {"duplicate": 2, "personal data": 1, ...}."""
        return Counter(change.step for change in self.changes)


@dataclass
class _Entry:
    file: int
    record: dict
    example: Example
    parts: tuple[str, ...] = ()
    removed: bool = False


def prompt_and_answer(example: Example) -> tuple[str, ...]:
    """What two records are compared by: (everything before the last answer, the last answer),
    or (text,) for plain text."""
    if example.kind == "text":
        return (example.text,)
    messages = list(example.messages)
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
    prompt = "\n".join(f"{m['role']}: {m['content']}" for m in messages[:last])
    return (prompt, messages[last]["content"] if last < len(messages) else "")


def compared_parts(example: Example, record: dict, task: bool) -> tuple[str, ...]:
    """What duplicates and conflicts are judged on. Label data (a task template) is compared by
    the record's own fields, not the template's prompt, whose fixed wording would make every
    short text look alike: (the other fields, the answer)."""
    parts = prompt_and_answer(example)
    if not task:
        return parts
    own = [" ".join(map(str, value)) if isinstance(value, list) else str(value) for value in record.values()]
    return ("\n".join(value for value in own if value != parts[-1]), parts[-1])


def _rewrite(value, change: Callable[[str], str]):
    """value with `change` applied to every string inside it (dict values, list items)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: _rewrite(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite(item, change) for item in value]
    return value


def _clean_record(record: dict, config: CleanConfig) -> tuple[dict, list[tuple[str, str, tuple[str, ...]]]]:
    """(the record with its text cleaned, [(step, detail, personal kinds)] of what changed)."""
    changes = []
    if config.normalize:
        cleaned = _rewrite(record, normalize)
        if cleaned != record:
            changes.append(("normalised", "", ()))
        record = cleaned
    if config.personal != "off":
        kinds: list[str] = []

        def scrubbed(text: str) -> str:
            result = scrub(text)
            kinds.extend(item.kind for item in result.found)
            return result.text if config.personal == "scrub" else text

        record = _rewrite(record, scrubbed)
        if kinds:
            counts = sorted(Counter(kinds).items())
            changes.append(("personal data", ", ".join(kind + (f" ×{n}" if n > 1 else "") for kind, n in counts),
                            tuple(kinds)))
    return record, changes


def clean_files(files: list, config: CleanConfig, eval_files: list = ()) -> CleanResult:
    """Each file's records (FileData from finetune.data.load_file) cleaned; what changed, by origin.

    A cleaned record is read again the way its file was (FileData.read). eval_files: FileData of
    the eval set, whose prompts the training data may not hold.
    """
    changes: list[Change] = []
    entries: list[_Entry] = []
    for number, file in enumerate(files):
        task = file.format in TEMPLATES
        for record, example in zip(file.records, file.examples):
            cleaned, steps = _clean_record(record, config)
            changes += [Change(example.origin, step, detail, kinds=kinds) for step, detail, kinds in steps]
            if cleaned != record:
                try:
                    example = dataclasses.replace(file.read(cleaned, example.origin), untrained=example.untrained)
                except ValueError as err:
                    changes.append(Change(example.origin, "empty after cleaning", str(err), removed=True))
                    continue
            entries.append(_Entry(number, cleaned, example, compared_parts(example, cleaned, task)))
    _length_filter(entries, config, changes)
    _duplicates(entries, config, changes)
    _conflicts(entries, config, changes)
    held = [(e, compared_parts(e, r, f.format in TEMPLATES)) for f in eval_files for r, e in zip(f.records, f.examples)]
    _eval_overlap(entries, held, config, changes)
    position = {example.origin: i for i, example in enumerate(e for file in files for e in file.examples)}
    changes.sort(key=lambda change: position.get(change.origin, len(position)))  # stable: steps in order
    return CleanResult([CleanedFile(file.path, file.kind, file.format,
                                    [e.record for e in entries if e.file == number and not e.removed],
                                    [e.example for e in entries if e.file == number and not e.removed],
                                    len(file.examples))
                        for number, file in enumerate(files)], changes)


def _size(example: Example) -> int:
    return sum(len(part) for part in prompt_and_answer(example))


def _live(entries: list[_Entry]) -> list[_Entry]:
    return [entry for entry in entries if not entry.removed]


def _length_filter(entries, config: CleanConfig, changes: list[Change]) -> None:
    for entry in entries:
        size = _size(entry.example)
        if size < config.min_chars:
            entry.removed = True
            changes.append(Change(entry.example.origin, "too short", f"{size} characters", removed=True))
        elif config.max_chars and size > config.max_chars:
            entry.removed = True
            changes.append(Change(entry.example.origin, "too long", f"{size:,} characters", removed=True))


def _duplicates(entries, config: CleanConfig, changes: list[Change]) -> None:
    first: dict[tuple, _Entry] = {}
    for entry in _live(entries):
        key = (entry.example.kind, *map(duplicate_key, entry.parts))
        if key in first:
            entry.removed = True
            changes.append(Change(entry.example.origin, "duplicate", f"of {first[key].example.origin}", removed=True))
        else:
            first[key] = entry
    if config.near_duplicates:
        live = _live(entries)
        for pair in near_duplicate_pairs([e.parts for e in live], config.near_duplicates):
            kept, repeat = live[pair.first], live[pair.second]
            if not kept.removed and not repeat.removed and kept.example.kind == repeat.example.kind:
                repeat.removed = True
                changes.append(Change(repeat.example.origin, "near duplicate",
                                      f"of {kept.example.origin} (similarity {pair.similarity:.2f})", removed=True))


def _conflicts(entries, config: CleanConfig, changes: list[Change]) -> None:
    groups: dict[str, list[_Entry]] = {}
    for entry in _live(entries):
        parts = entry.parts
        if len(parts) == 2 and parts[0].strip():
            groups.setdefault(duplicate_key(parts[0]), []).append(entry)
    for group in groups.values():
        answers = {duplicate_key(e.parts[1]) for e in group}
        if len(answers) < 2:
            continue
        where = ", ".join(e.example.origin for e in group)
        for entry in group:
            entry.removed = config.conflicts == "drop"
            changes.append(Change(entry.example.origin, "conflict", f"{len(answers)} different answers to one "
                                  f"prompt: {where}", removed=entry.removed))


def _eval_overlap(entries, held: list[tuple[Example, tuple[str, ...]]], config: CleanConfig,
                  changes: list[Change]) -> None:
    """Training records that ask what an eval record asks (same prompt, or a near duplicate of it)."""
    if not held:
        return
    keys = {duplicate_key(parts[0]): example.origin for example, parts in held}
    for entry in _live(entries):
        origin = keys.get(duplicate_key(entry.parts[0]))
        if origin:
            entry.removed = True
            changes.append(Change(entry.example.origin, "in eval data", f"at {origin}", removed=True))
    if config.near_duplicates:
        live = _live(entries)
        prompts = [e.parts[:1] for e in live] + [parts[:1] for _, parts in held]
        for pair in near_duplicate_pairs(prompts, config.near_duplicates):
            if pair.first < len(live) <= pair.second and not live[pair.first].removed:
                live[pair.first].removed = True
                changes.append(Change(live[pair.first].example.origin, "in eval data",
                                      f"at {held[pair.second - len(live)][0].origin} (similarity {pair.similarity:.2f})",
                                      removed=True))


# ---------------------------------------------------------------------------------------- files


@dataclass
class CleanedPaths:
    result: CleanResult
    written: dict[str, str]
    """input file → the file its cleaned records went to."""
    bad: list
    """BadRecords of the inputs: not written, listed in the report."""


def outputs_for(inputs: list[Path], out: Path) -> dict[str, Path]:
    """Where each input's cleaned copy goes: `out` itself for one input file named like it, else
    `out`/<the input's name>. Refuses to write over an input, or two inputs to one name."""
    single = len(inputs) == 1 and out.suffix and not out.is_dir()
    if single and out.suffix.lower() != inputs[0].suffix.lower():
        raise ConfigError(f"-o {out}: the output keeps the input's format; name it with {inputs[0].suffix or 'no suffix'}"
                          f" or give a folder")
    targets = {str(p): out if single else out / p.name for p in inputs}
    names = [t.resolve() for t in targets.values()]
    if len(set(names)) < len(names):
        raise ConfigError(f"-o {out}: two inputs have one file name; clean them one at a time")
    for source, target in targets.items():
        if target.resolve() == Path(source).resolve():
            raise ConfigError(f"-o {out}: that would write over the input {source}; choose another file or folder")
    return targets


def clean_paths(paths: list[Path], out: Path, config: CleanConfig, *, format: str = "auto",
                eval_paths: list[Path] = (), text_field: str | None = None, task_prompt: str | None = None) -> CleanedPaths:
    """Read `paths`, clean them (clean_files) and write each in its own format under `out`."""
    formats = formats_with(text_field, task_prompt)
    targets = outputs_for(list(paths), out)
    files = [load_file(Path(p), format, formats, config.columns, guess_tasks=True) for p in paths]
    held = [load_file(Path(p), format, formats, config.columns, guess_tasks=True) for p in eval_paths]
    result = clean_files(files, config, held)
    written = {}
    for file, cleaned in zip(files, result.files):
        if file.kind:
            target = targets[file.path]
            target.parent.mkdir(parents=True, exist_ok=True)
            written[file.path] = str(write_records(target, file.kind, cleaned.records))
    return CleanedPaths(result, written, [bad for file in files for bad in file.bad])
