"""The names a question holds: the words that name a thing (a product, a place, a version, a
code). Grounding checks that the documents mention them; follow-up questions carry them.

    names("What does error E4 mean on the Brewmaster K2?")       # ['E4', 'Brewmaster', 'K2']
    name_spans("What does error E4 mean on the Brewmaster K2?")  # ['E4', 'Brewmaster K2']
"""

from __future__ import annotations

import functools
import re
import unicodedata

_NAME = re.compile(r"[^\W_](?:[\w.\-]*[^\W_])?")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _is_name(word: str, first: bool, identifiers: bool = False) -> bool:
    # 'ID', 'IT', 'OK': two capitals are as often a word as a name; the first word is capitalised anyway
    capital = not first and any(c.isupper() for c in word) and not (word.isupper() and len(word) <= 2)
    identifier = identifiers and bool(re.search(r"\w[._]\w", word))  # virtualenvs.in-project, max_connections
    return capital or identifier or any(c.isdigit() for c in word)


def _name_matches(question: str, identifiers: bool = False) -> list[tuple[int, int]]:
    """Where the names of `question` are: (start, end) pairs, in order."""
    found = []
    for n, match in enumerate(_NAME.finditer(question)):
        word = match.group()
        if _CJK.search(word):  # Chinese runs carry no capitals; a Latin name inside one is split out
            found += [(match.start() + m.start(), match.start() + m.end())
                      for m in re.finditer(r"[A-Za-z0-9][\w.\-]*[A-Za-z0-9]|[0-9]", word)
                      if _is_name(m.group(), False, identifiers) and not _CJK.search(m.group())]
        elif _is_name(word, n == 0, identifiers):
            found.append(match.span())
    return found


def names(question: str) -> list[str]:
    """The words of `question` that name a thing: capitalised (not the first word, not 'I') or
    holding a digit, in order, without repeats.

    >>> names("What is the per diem for a trip to Italy with firmware 3.3 and the T-2?")
    ['Italy', '3.3', 'T-2']
    >>> names("清洁宝X5的保修期呢？")
    ['X5']
    """
    return list(dict.fromkeys(question[start:end] for start, end in _name_matches(question)))


def versioned_names(question: str) -> list[str]:
    """The names of `question` written with letters and digits: a model or product and its version
    ('Qwen3-8B', 'GLM-4.7-Flash', 'K2'), the thing asked about rather than a detail of it; a bare
    number ('3.11') is not one.

    >>> versioned_names("How do I deploy Qwen3-8B with vLLM on Python 3.11?")
    ['Qwen3-8B']
    """
    return [name for name in names(question) if re.search(r"[^\W\d_]", name) and re.search(r"\d", name)]


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def code_titles(question: str) -> list[str]:
    """The headings (lower case) a command or identifier written as code in `question` may stand
    under: the command with its subcommands, the program's name or not ("`poetry env use 3.11`"
    is documented under "env use" in a reference of poetry's commands); never the program's
    name alone.

    >>> code_titles("Which option of `poetry version` prints only the number?")
    ['poetry version', 'version']
    >>> code_titles("What replaces `response.is_ok`?")
    ['response.is_ok']
    """
    titles = []
    for span in _CODE_SPAN.findall(question):
        words = span.casefold().split()
        titles += [" ".join(words[i:j]) for i in (0, 1) for j in range(i + 1, len(words) + 1)
                   if (i, j) != (0, 1) or len(words) == 1]
    return list(dict.fromkeys(titles))


_OR = re.compile(r"\s*/\s*|\s+or\s+|\s*或\s*", re.IGNORECASE)


def alternatives(question: str, files: bool = False) -> list[tuple[str, ...]]:
    """The names of `question` (see `names`), those written as alternatives of one another
    ("Starlette/FastAPI", "Flask or Django") grouped: the question is about either. `files`: the
    file names it names instead (see `file_names`).

    >>> alternatives("How do I test a Starlette/FastAPI app with Flask or Django 5?")
    [('Starlette', 'FastAPI'), ('Flask', 'Django'), ('5',)]
    >>> alternatives("Do I keep requirements.txt or pyproject.toml, and poetry.lock?", files=True)
    [('requirements.txt', 'pyproject.toml'), ('poetry.lock',)]
    """
    groups: list[list[str]] = []
    previous_end = None
    for start, end in _file_matches(question) if files else _name_matches(question):
        if previous_end is not None and _OR.fullmatch(question[previous_end:start]):
            groups[-1].append(question[start:end])
        else:
            groups.append([question[start:end]])
        previous_end = end
    return list(dict.fromkeys(tuple(dict.fromkeys(group)) for group in groups))


_FILE_NAME = re.compile(r"(?<![A-Za-z0-9_./-])((?:my|our)\s+|我的|我们的)?"
                        r"((?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_.-]*[A-Za-z0-9_]\.(?:toml|ya?ml|json|lock|cfg|ini|txt|py|sh|conf))"
                        r"(?![A-Za-z0-9_(])")
"""A file name with an extension of a config, manifest or script, lower case (not `response.json()`
nor `asyncio.Lock`), and the possessive before it, if any."""


def _file_matches(question: str, own: bool = False) -> list[tuple[int, int]]:
    """Where the file names of `question` are (see `file_names`): (start, end) pairs, in order."""
    return [match.span(2) for match in _FILE_NAME.finditer(question) if bool(match[1]) == own]


def file_names(question: str, own: bool = False) -> list[str]:
    """The files `question` names by file name ('environment.yml', 'Pipfile.lock'), but not the
    asker's own ('my app.py', '我的config.json'), which the documents need not know; `own`: those
    instead.

    >>> file_names("Can my app.py export to a Conda environment.yml from poetry.lock?")
    ['environment.yml', 'poetry.lock']
    >>> file_names("怎么修改config.yaml？我的app.py 呢？"), file_names("my app.py", own=True)
    (['config.yaml'], ['app.py'])
    """
    return list(dict.fromkeys(question[start:end] for start, end in _file_matches(question, own)))


def name_spans(question: str, identifiers: bool = False) -> list[str]:
    """The names of `question` with the names right beside them joined: one span per thing named;
    `identifiers`: code identifiers in lower case count too.

    >>> name_spans("Does the Toastline T4 show error E2 like the Brewmaster K2?")
    ['Toastline T4', 'E2', 'Brewmaster K2']
    >>> name_spans("What does virtualenvs.in-project do?", identifiers=True)
    ['virtualenvs.in-project']
    """
    spans: list[tuple[int, int]] = []
    for start, end in _name_matches(question, identifiers):
        if spans and question[spans[-1][1]:start] == " ":  # "Brewmaster K2": one thing
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return list(dict.fromkeys(question[a:b] for a, b in spans))


def _title_form(text: str) -> str:
    return re.sub(r"[\s_\-/]+", " ", text).strip().lower()


@functools.lru_cache(maxsize=1024)
def _title_pattern(name: str) -> re.Pattern:
    return re.compile(rf"(?<![^\W_]){re.escape(_title_form(name))}(?![^\W_])")


def carries(title: str, name: str) -> bool:
    """Whether a title (a file path, a heading path) carries `name`, spaces, dashes and case aside.

    >>> carries("manuals/brewmaster-k2.md Warranty", "Brewmaster K2"), carries("brewmaster-k21.md", "Brewmaster K2")
    (True, False)
    """
    return bool(_title_pattern(name).search(_title_form(title)))


# A letter or digit that is not Chinese, Japanese or Korean: CJK text runs into a name unspaced ("6G显存")
_WORD = r"[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
_SEPARATORS = re.compile(r"[._\-\s]+")


@functools.lru_cache(maxsize=1024)
def mention_pattern(word: str) -> re.Pattern:
    """How a code, model or version name is found in text: as written, case aside, not inside a
    longer name ('3.3.0' mentions '3.3', 'T-20' does not mention 'T-2'); CJK characters beside it
    are not part of it; a name with letters may swap its separators ('Qwen-1.8B-Chat' is the
    docs' 'Qwen-1_8B-chat'), a version may not ('3.3' is not '3-3').

    >>> bool(mention_pattern("6G").search("可以用6G显存训练")), bool(mention_pattern("T-2").search("the T-20"))
    (True, False)
    >>> bool(mention_pattern("Qwen-1.8B-Chat").search("qwen/Qwen-1_8B-Chat")), bool(mention_pattern("3.3").search("3-3"))
    (True, False)
    """
    if any(c.isalpha() for c in word):
        body = r"[._\-\s]".join(re.escape(part) for part in _SEPARATORS.split(word))
    else:
        body = re.escape(word)
    return re.compile(rf"(?<!{_WORD})(?<!\.){body}(?!{_WORD})", re.IGNORECASE)


_SPELLED_WORD = re.compile(r"[\w-]+")
_CAPITALISED_RUN = re.compile(r"\b[^\W\d_a-z][\w-]*(?:\s+[^\W\d_a-z][\w-]*)+")
"""Two or more words with spaces between them, each beginning with a letter that may be a capital
(the regex engine has no class of capitals; spelled_acronyms checks them)."""
ACRONYM_LENGTHS = range(2, 7)
"""The lengths of an acronym that a run of capitalised words may spell out ('CFO')."""


def spelled_acronyms(text: str) -> set[str]:
    """The acronyms `text` spells out: the initials of each run of capitalised words written with
    spaces between them, of ACRONYM_LENGTHS letters. A run may begin inside a hyphenated word
    ("Tool-Integrated Reasoning" spells IR, as a search for I… R… finds it), not go on through one.

    >>> sorted(spelled_acronyms("Ask the Chief Financial Officer (CFO), or the head of IT."))
    ['CF', 'CFO', 'FO']
    """
    found: set[str] = set()
    for run in _CAPITALISED_RUN.finditer(text):
        words = _SPELLED_WORD.findall(run.group())
        for at, word in enumerate(words):
            for first in (part[0] for part in word.split("-") if part and part[0].isupper()):
                initials = first
                for after in words[at + 1 : at + ACRONYM_LENGTHS[-1]]:
                    if not after[0].isupper():
                        break
                    initials += after[0]
                    if len(initials) in ACRONYM_LENGTHS:
                        found.add(initials)
    return found


@functools.lru_cache(maxsize=1)
def unsettled_characters() -> re.Pattern:
    """A character beside which a text's BM25 terms (index/terms.py) may not be those of a name
    that mention_pattern finds there: NFKC makes a letter or digit of it or joins it to the letter
    before ('GPT-4™' is the terms gpt, 4tm; '5㎏' is 5kg; a combining accent), it is a capital or
    small letter that lower() maps otherwise than the regex's ignoring of case (ς and σ, ı and İ),
    or it is Hangul or Kana (a lone one is no term where the collection splits CJK in bigrams).
    Built once from the Basic Multilingual Plane (0.02 s); every character beyond it counts (emoji
    and the like: a class reaching past it was read item by item, 200× slower)."""
    points = []
    for point in range(0x10000):
        char = chr(point)
        if 0xD800 <= point <= 0xDFFF:
            continue
        normal = unicodedata.normalize("NFKC", char)
        if (normal != char and any(c.isalnum() or unicodedata.combining(c) for c in normal)) \
                or unicodedata.combining(char) or char.lower() != char.casefold() or len(char.lower()) > 1 \
                or (char.isalpha() and char.lower() == char and char.upper().lower() != char) \
                or 0x1100 <= point <= 0x11FF or 0x3040 <= point <= 0x30FF or 0x3130 <= point <= 0x318F \
                or 0xAC00 <= point <= 0xD7AF:
            points.append(point)
    ranges, start = [], points[0]
    for before, point in zip(points, points[1:] + [None]):
        if point != before + 1:
            ranges.append(re.escape(chr(start)) + (f"-{re.escape(chr(before))}" if before > start else ""))
            start = point
    return re.compile(f"[{''.join(ranges)}]|[^\\u0000-\\uffff]")


__all__ = ["ACRONYM_LENGTHS", "alternatives", "carries", "code_titles", "file_names", "mention_pattern", "name_spans",
           "names", "spelled_acronyms", "unsettled_characters", "versioned_names"]
