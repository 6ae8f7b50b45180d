"""The question that is searched. In a conversation a follow-up points back — "how long is its
warranty?", "what about the Toastline T4?", "那 X5 呢？" — and searched as typed it finds another
product's warranty or nothing. Before retrieval such a question is made self-contained from the
earlier questions; a question that names its own subject is searched as it stands.

    earlier = ["What does error E4 mean on the Brewmaster K2?"]
    searched_question("How long is its warranty?", earlier, retriever).text
    # "How long is the Brewmaster K2's warranty?"
    searched_question("What about the Toastline T4?", earlier, retriever).text
    # "What does error E4 mean on the Toastline T4?"

The methods are in FOLLOW_UPS, chosen by `[chat] follow_ups`; bench/results/conversation_quality.md
measured them. "rules" (the default) is plain text work, under a millisecond, the same every run,
and the user is shown what was searched:
- the subject is the names of the last question that had any (index/names.py), those that the
  collection's file names or headings carry first ("Brewmaster K2", not the error code "E4");
- a question pointing back ("it", "its", "that one", "它", "这个", "… and the cleaning?") without
  a subject of its own gets the subject: in place of its pronoun, else after it;
- a question that is a new subject and little else ("what about the K3?", "and for Osaka?",
  "那 X5 呢？") is the previous searched question with its subject swapped;
- any other question is searched as typed, and starts a new thread; when the documents hold
  nothing relevant to it as typed, Assistant searches its fallback instead (the subject after
  it, or with no subject the thread's question before it), if the fallback's nearest passage is
  in the same document: "how long can the milk stay out of the fridge?" after questions on one
  machine, but not "what number do I call for support?".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from .names import name_spans

EARLIEST = 8
"""Earlier questions read, the most recent ones: a subject older than that is not carried."""


class KnowsNames(Protocol):
    """What a collection knows of a name (index.retriever.Retriever has both)."""

    def mentions(self, word: str) -> bool: ...

    def titled(self, words: str) -> bool: ...


@dataclass(frozen=True)
class Searched:
    """The question as searched: `text` is what retrieval, sentence ranking and the abstention
    check see; `how` says how it was made from the typed one."""

    text: str
    how: str = "as asked"
    """as asked (searched as typed), continued (searched as typed, naming nothing of its own: the
    thread's subject stays), follow-up (the subject carried in), switch (the previous question
    with a new subject) or previous (the previous question joined to it)."""
    subject: tuple[str, ...] = ()
    """The names this question is about (a file or section is titled with them), carried to the
    next follow-up."""
    details: tuple[str, ...] = ()
    """Other names it holds (an error code, a setting), which an entity switch may replace."""
    anchor: str = ""
    """The last question of the thread that stood alone (as searched), which a follow-up too
    short to stand alone is joined to; "" for this question itself."""
    fallback: str = ""
    """For a question searched as typed after earlier ones (it names nothing and points back at
    nothing: "how long can the milk stay out of the fridge?"): the question with the thread's
    subject after it, or with no subject after the thread's question; searched instead when the
    documents hold nothing relevant to it as typed (Assistant.searched_after). Else ""."""
    asked: str = ""
    """For a follow-up searched after the question it follows (`text` joins the two): the
    follow-up itself, as typed or with its pronoun carried: what is asked now, which the
    answering stages rank sentences by first. Else ""."""

    @property
    def thread(self) -> str:
        return self.anchor or self.text

    @property
    def rewritten(self) -> bool:
        return self.how not in ("as asked", "continued")

    def fallen_back(self) -> "Searched":
        """The search of `fallback`: the question about the thread's subject, or, with no subject,
        asked after the thread's question (then what it asks now is this question: `asked`)."""
        return Searched(self.fallback, "follow-up", self.subject, self.details, asked="" if self.subject else self.text)


# A word that points back at something said before. "that" only as a pronoun or determiner: "make
# sure that my laptop …" is a conjunction, "releases that are less than a week old" a relative;
# after a verb or a question word it points back whatever follows ("does that have a limit?").
_AFTER_VERB = "|".join(rf"(?<=\b{word}\s)" for word in (
    "do", "does", "did", "will", "would", "can", "could", "should", "has", "have", "had", "is", "was", "if",
    "when", "why", "where"))
_POINTS_BACK_EN = re.compile(
    r"\b(?:it|its|it's|itself|they|them|their|theirs|these|those|this|"
    rf"(?:{_AFTER_VERB})that|"
    r"that(?!\s+(?:my|the|a|an|i|you|we|it|they|he|she|there|your|our|is|was|are|were|has|have|had|can|could|"
    r"will|would|should|don't|doesn't|aren't|isn't|need|needs)\b)|the other|the same|same|"
    r"there(?=\W*$))\b",
    re.IGNORECASE)
_POINTS_BACK_ZH = re.compile(r"它|这个|那个|这款|那款|这台|那台|这种|那种|这一|上面|前面|呢[？?。！!]*\s*$")
_OPENS_ELLIPSIS = re.compile(
    r"^\s*(?:and|also|but|or|so|then|what about|how about|same for|what if|what's the \w+ equivalent|"
    r"那么|那|还有|另外|换成|同样|如果是)(?:\b|(?=[\u3400-\u9fff\s]))", re.IGNORECASE)
_FILLER = re.compile(
    r"\b(?:and|also|but|or|so|then|what's|what|how|about|same|for|on|in|with|the|a|an|of|to|is|are|does|do|"
    r"one|just|only|model|version|office|product|case|if|equivalent)\b|那么|那|呢|还有|另外|换成|同样|如果是|的|是|版本|型号|款",
    re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9][\w.'\-]*|[\u3400-\u9fff]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_TRAILING = re.compile(r"[\s?？。.!！]*$")


def _points_back(question: str) -> bool:
    if _POINTS_BACK_EN.search(question) or _POINTS_BACK_ZH.search(question) or _OPENS_ELLIPSIS.search(question):
        return True
    return len(_rest(question, ())) <= (2 if _CJK.search(question) else 1)


def _elliptic(question: str, rest: Sequence[str]) -> bool:
    """An ellipsis: opens like one ("and …", "what about …", "那 …"), ends like one ("…呢？"), or is
    nothing but names; in Chinese, which drops a subject it shares, a question of a few characters
    ("怎么处理？") too."""
    return bool(_OPENS_ELLIPSIS.search(question) or _POINTS_BACK_ZH.search(question) or not rest
                or (_CJK.search(question) and len(rest) <= 4))


def _rest(question: str, spans: Sequence[str]) -> list[str]:
    """The words of `question` besides its names and the filler of an ellipsis ("what about the")."""
    for span in spans:
        question = question.replace(span, " ")
    return _WORD.findall(_FILLER.sub(" ", question))


def _known(spans: Sequence[str], names: KnowsNames) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The spans the collection mentions, split into the subject (those a file name or heading
    carries: "Brewmaster K2") and details (an error code, a setting: "E4")."""
    known = [s for s in spans if all(names.mentions(w) for w in s.split())]
    subject = tuple(s for s in known if names.titled(s))
    return subject, tuple(s for s in known if s not in subject)


def _similarity(old: str, new: str) -> tuple[int, bool, bool, bool]:
    """How alike two names are in form: words in common, the same leading letter of their last
    word ("K2" and "K3"), both holding a digit, the same number of words."""
    old_words, new_words = old.split(), new.split()
    return (len(set(old_words) & set(new_words)), old_words[-1][:1] == new_words[-1][:1],
            any(c.isdigit() for c in old) == any(c.isdigit() for c in new), len(old_words) == len(new_words))


def _swap(text: str, old: Sequence[str], new: Sequence[str]) -> str:
    """`text` with each new name in place of the old name (of `old`, those in `text`) most like it
    in form; a lone version or model number replaces only the number ("Quillsync 2" → "Quillsync 3")."""
    old = [s for s in old if s in text]
    if not old:
        return f"{_TRAILING.sub('', text)} ({', '.join(new)}){_TRAILING.search(text).group()}"
    for span in new:
        if not old:
            break
        target = max(old, key=lambda o: _similarity(o, span))
        old.remove(target)
        words = target.split()
        if len(span.split()) == 1 and len(words) > 1 and any(c.isdigit() for c in span) \
                and any(c.isdigit() for c in words[-1]) and span[:1].isdigit() == words[-1][:1].isdigit():
            replacement = " ".join(words[:-1] + [span])
        else:
            replacement = span
        text = text.replace(target, replacement)
    return text


_PRONOUNS_EN = (
    (re.compile(r"\b(?:its|their)\b", re.IGNORECASE), "the {}'s"),
    (re.compile(r"\b(?:this|that) one\b", re.IGNORECASE), "the {}"),
    (re.compile(r"\b(?:it|itself|they|them)\b", re.IGNORECASE), "the {}"),
    (re.compile(r"\bthere(?=\W*$)", re.IGNORECASE), "in the {}"),  # "how do I skip files there?"
)
_PRONOUNS_ZH = ((re.compile(r"它们|它|这个|那个|这款|那款|这台|那台"), "{}"),)


def _carry(question: str, subject: Sequence[str]) -> str | None:
    """`question` with the subject in place of its first pronoun ("its warranty" → "the
    Brewmaster K2's warranty"); None when it has none to replace ("what should I use for that?"
    points at what was asked, not at a thing)."""
    name = " ".join(subject)
    for pattern, form in _PRONOUNS_ZH if _CJK.search(question) else _PRONOUNS_EN:
        if pattern.search(question):
            return pattern.sub(lambda m: form.format(name), question, count=1)
    return None


def _after(question: str, names: Sequence[str]) -> str:
    """`question` with `names` after it: "E5 then (Brewmaster K2)?"."""
    end = _TRAILING.search(question).group()
    return f"{question[:len(question) - len(end)]} ({' '.join(names)}){end}"


def by_rules(question: str, earlier: Sequence[str], names: KnowsNames) -> Searched:
    """The searched question by the rules of this module's docstring."""
    previous: Searched | None = None
    seen: list[str] = []  # the subjects of the thread, most recent first
    for asked in [*earlier[-EARLIEST:], question]:
        others = [s for s in seen if previous is None or s not in previous.subject]
        previous = _by_rules_after(asked, previous, names, others)
        seen = [*previous.subject, *[s for s in seen if s not in previous.subject]]
    return previous


def _joined(previous: Searched, question: str, asked: str | None = None) -> Searched:
    """A follow-up too short to stand alone ("and the grinder?", "电池呢？", "how do I remove it?"
    with no name to carry): asked after the question of the thread that stood alone. `asked`
    (Searched.asked): what it asks now, `question` unless given."""
    return Searched(f"{previous.thread} {question}", "follow-up", previous.subject, previous.details, previous.thread,
                    asked=question if asked is None else asked)


_THE_OTHER = re.compile(r"\bthe other(?: one)?\b|另一个|另一款|另一台|另外那个|另外一个", re.IGNORECASE)


def _by_rules_after(question: str, previous: Searched | None, names: KnowsNames, others: Sequence[str] = ()) -> Searched:
    """`others`: the thread's earlier subjects, most recent first, besides the previous question's."""
    spans = name_spans(question, identifiers=True)
    subject, details = _known(spans, names)
    if previous is None:
        return Searched(question, subject=subject or details, details=details if subject else ())
    if not spans and others and _THE_OTHER.search(question):  # "and the other one?": the subject before
        spans, subject = [others[0]], (others[0],)
        question = _THE_OTHER.sub(others[0], question, count=1)
    rest = _rest(question, spans)
    short = len(rest) <= (2 if _CJK.search(question) else 1)
    elliptic = _elliptic(question, rest)
    if subject or details:
        if elliptic and short:  # "what about the K3?", "那 E1 呢？": the previous question, of the new name
            text = _swap(previous.text, [*previous.subject, *previous.details], [*subject, *details])
            new_subject, new_details = _known(name_spans(text, identifiers=True), names)
            return Searched(text, "switch", new_subject or previous.subject, new_details)
        if subject:
            return Searched(question, subject=subject, details=details)
        if previous.subject and _points_back(question):  # "what does E5 mean on it?"
            return Searched(_carry(question, previous.subject) or _after(question, previous.subject), "follow-up",
                            previous.subject, details)
        return Searched(question, "continued", previous.subject, details)
    if elliptic and len(rest) <= (4 if _CJK.search(question) else 2):
        return _joined(previous, question)
    if _points_back(question):
        carried = _carry(question, previous.subject) if previous.subject else None
        if carried and _carry(carried, previous.subject) is None:
            return Searched(carried, "follow-up", previous.subject, previous.details)
        # no subject to carry, or a second pronoun points at what was asked ("which tool do they use for it?"):
        # then what the thread asked says what this one asks, and ranking reads the two joined
        return _joined(previous, carried or question, asked="" if carried else question)
    # Searched as typed; the subject stays for a later "it" (a question naming nothing has none of its own)
    return Searched(question, "continued" if previous.subject else "as asked", previous.subject,
                    fallback=_after(question, previous.subject) if previous.subject else f"{previous.thread} {question}")


def as_asked(question: str, earlier: Sequence[str], names: KnowsNames) -> Searched:
    """The question searched as typed, whatever came before (how answers were before follow-ups)."""
    return Searched(question)


def with_previous(question: str, earlier: Sequence[str], names: KnowsNames) -> Searched:
    """The previous question joined to every follow-up: what many chat front ends do."""
    if not earlier:
        return Searched(question)
    return Searched(f"{earlier[-1]} {question}", "previous", asked=question)


FOLLOW_UPS: dict[str, Callable[[str, Sequence[str], KnowsNames], Searched]] = {
    "rules": by_rules, "off": as_asked, "previous": with_previous}
"""How a question is made self-contained from the earlier ones, by `[chat] follow_ups`."""


def searched_question(question: str, earlier: Sequence[str], names: KnowsNames, method: str = "rules") -> Searched:
    """`question` as it is searched, after the user's `earlier` questions (oldest first)."""
    return FOLLOW_UPS[method](question, earlier, names)


__all__ = ["EARLIEST", "FOLLOW_UPS", "KnowsNames", "Searched", "as_asked", "by_rules", "searched_question",
           "with_previous"]
