"""Text normalisation for training data, and the key duplicates are compared by.

`normalize` is what `data clean` writes: invisible and control characters, terminal colour codes,
CR line ends, trailing spaces and HTML remnants go; Unicode is NFKC-normalised except where the
compatibility form changes what a reader sees (full-width punctuation in Chinese text, x², ½).
`duplicate_key` is coarser and only compared, never written: case, spacing and the punctuation
at the end do not make two questions different.

    >>> normalize("Port\\u200b 7431\\x1b[31m!\\x1b[0m  \\r\\nＡＢＣ１２３，好吗？")
    'Port 7431!\\nABC123，好吗？'
    >>> duplicate_key("How do I  install Poetry？") == duplicate_key("how do i install poetry?")
    True
"""

from __future__ import annotations

import html
import re
import unicodedata

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\u00ad\ufeff]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""C0 and C1 controls but tab, newline and carriage return (those are whitespace, handled apart)."""
HTML_TAG = re.compile(r"</?(?:p|br|div|span|b|i|em|strong|font|li|ul|ol|td|tr|th|table|tbody|thead|a|img|hr)"
                      r"(?:\s[^<>]*)?/?>", re.IGNORECASE)
HTML_ENTITY = re.compile(r"&(?:nbsp|amp|lt|gt|quot|apos|#\d{1,6}|#x[0-9a-fA-F]{1,5});")
KEPT_FORMS = ("<super>", "<sub>", "<fraction>")
"""Compatibility forms NFKC would flatten though they carry meaning: x² is not x2, ½ not 1/2."""
CODE = re.compile(r"```|`[^`\n]*[<&][^`\n]*`")
"""Text with a code block, or HTML in backticks, is about markup: its tags stay."""
END_PUNCTUATION = re.compile(r"[\s.?!。？！…]+$")


def _keeps_form(char: str) -> bool:
    form = unicodedata.decomposition(char)
    if form.startswith(KEPT_FORMS):
        return True
    # Full-width punctuation (，？！：) is how Chinese and Japanese text is written; full-width
    # letters and digits (ＡＢＣ１２３) are not, and become ASCII.
    return form.startswith("<wide>") and unicodedata.category(char)[0] in "PS"


def nfkc(text: str) -> str:
    """NFKC, keeping the characters `_keeps_form` names.

    >>> nfkc("ﬁle x² ½ ＡＢ，")
    'file x² ½ AB，'
    """
    if unicodedata.is_normalized("NFKC", text):
        return text
    parts, start = [], 0
    for i, char in enumerate(text):
        if ord(char) > 0x7F and _keeps_form(char):
            parts += [unicodedata.normalize("NFKC", text[start:i]), char]
            start = i + 1
    parts.append(unicodedata.normalize("NFKC", text[start:]))
    return "".join(parts)


def strip_html(text: str) -> str:
    """Formatting tags and entities left by an HTML export; text about markup (code) is kept as is.

    >>> strip_html("Use <b>poetry add</b>&nbsp;now<br/>")
    'Use poetry add now'
    """
    if CODE.search(text):
        return text
    text = HTML_TAG.sub("", text)
    return HTML_ENTITY.sub(lambda m: " " if m.group() == "&nbsp;" else html.unescape(m.group()), text)


def normalize(text: str) -> str:
    """The cleaned form of one text field (see the module's docstring)."""
    text = ANSI.sub("", text)
    text = INVISIBLE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = CONTROL.sub("", text)
    text = strip_html(nfkc(text))
    lines = [line.rstrip() for line in text.split("\n")]
    if not CODE.search(text):  # runs of spaces inside a line, where no code's alignment can depend on them
        lines = [re.sub(r"(?<=\S) {2,}(?=\S)", " ", line) for line in lines]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n")


def duplicate_key(text: str) -> str:
    """What two texts must share to be the same record for de-duplication."""
    text = unicodedata.normalize("NFKC", INVISIBLE.sub("", ANSI.sub("", text))).casefold()
    return END_PUNCTUATION.sub("", " ".join(text.split()))
