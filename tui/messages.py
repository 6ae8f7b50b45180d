"""Events that worker threads post to their screen (post_message is thread-safe).

Each carries plain values from the library (a BuildReport, a DataSummary, an Answer ...); the
screen that receives it updates its widgets on the main thread.
"""

from __future__ import annotations

from textual.message import Message


class ModelProgress(Message):
    """A step of loading or converting a model ("converting smollm2 GGUF ...")."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


# ------------------------------------------------------------------------ index


class BuildProgress(Message):
    """`done` of `total` items of a build stage ("files" or "embed"); `rate` items per second."""

    def __init__(self, stage: str, done: int, total: int, rate: float) -> None:
        super().__init__()
        self.stage, self.done, self.total, self.rate = stage, done, total, rate


class BuildProblem(Message):
    """A file the build skipped (unsupported) or could not read (failed)."""

    def __init__(self, source: str, reason: str, failed: bool) -> None:
        super().__init__()
        self.source, self.reason, self.failed = source, reason, failed


class BuildFinished(Message):
    """The build ended: `report` when it completed, `cancelled` when the user stopped it."""

    def __init__(self, collection: str, report=None, cancelled: bool = False) -> None:
        super().__init__()
        self.collection, self.report, self.cancelled = collection, report, cancelled


class SearchFinished(Message):
    def __init__(self, query: str, hits: list) -> None:
        super().__init__()
        self.query, self.hits = query, hits


class CollectionLoaded(Message):
    """A collection's manifest and chunks, read for browsing."""

    def __init__(self, name: str, manifest: dict, chunks: list) -> None:
        super().__init__()
        self.name, self.manifest, self.chunks = name, manifest, chunks


# ------------------------------------------------------------------------ train


class DataChecked(Message):
    """The training data read and tokenized before training: a DataSummary, or the DataError text."""

    def __init__(self, summary=None, error: str | None = None, details: str = "", reports: tuple = ()) -> None:
        super().__init__()
        self.summary, self.error, self.details = summary, error, details
        self.reports = reports
        """finetune.inspection FileReports: each file's format, findings and a preview."""


class TrainLog(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class TrainStep(Message):
    def __init__(self, step: int, total: int, loss: float | None) -> None:
        super().__init__()
        self.step, self.total, self.loss = step, total, loss


class TrainMetrics(Message):
    """One metrics.jsonl row: step, loss or eval_loss, tokens_per_second ..."""

    def __init__(self, row: dict) -> None:
        super().__init__()
        self.row = row


class TrainFinished(Message):
    """A RunResult (status finished or stopped), or None when training failed."""

    def __init__(self, result=None) -> None:
        super().__init__()
        self.result = result


# ------------------------------------------------------------------------ answers


class AnswerToken(Message):
    """Streamed text of the answer being written for `key` (the chat, or a compare column)."""

    def __init__(self, key: str, text: str) -> None:
        super().__init__()
        self.key, self.text = key, text


class AnswerFinished(Message):
    """The answer for `key`: an assistant.answering.Answer (Chat) or an assistant.evaluation.results.Row (Compare)."""

    def __init__(self, key: str, answer=None) -> None:
        super().__init__()
        self.key, self.answer = key, answer


class CompareProgress(Message):
    def __init__(self, done: int, total: int, text: str = "") -> None:
        super().__init__()
        self.done, self.total, self.text = done, total, text


class CompareFinished(Message):
    """A CompareResult; `folder` is where a question-file run was saved (None for one question)."""

    def __init__(self, result, folder=None) -> None:
        super().__init__()
        self.result, self.folder = result, folder
