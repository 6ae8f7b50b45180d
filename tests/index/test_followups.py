"""The searched question: a follow-up that points back is made self-contained from the earlier
questions, over a small collection of look-alike manuals (index/followups.py)."""

from pathlib import Path

import pytest

from index.build import build_collection
from index.followups import FOLLOW_UPS, searched_question
from index.retriever import open_collection
from index.store import Collection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "followups"


@pytest.fixture(scope="module")
def manuals(tmp_path_factory):
    project = tmp_path_factory.mktemp("followups")
    build_collection([FIXTURES], Collection(project, "manuals"))
    return open_collection(project, "manuals")


def searched(manuals, *turns: str, method: str = "rules"):
    return searched_question(turns[-1], list(turns[:-1]), manuals, method)


def test_a_first_or_self_contained_question_is_searched_as_typed(manuals):
    assert searched(manuals, "How long is the warranty on the Brewmaster K2?").text == \
        "How long is the warranty on the Brewmaster K2?"
    later = searched(manuals, "How long is the warranty on the Brewmaster K2?", "How do I clean the Toastline T4?")
    assert later.text == "How do I clean the Toastline T4?" and not later.rewritten
    assert later.subject == ("Toastline T4",)


@pytest.mark.parametrize("follow_up, expected", [
    ("How long is its warranty?", "How long is the Brewmaster K2's warranty?"),
    ("how often do I descale it?", "how often do I descale the Brewmaster K2?"),
])
def test_a_pronoun_or_ellipsis_follow_up_carries_the_subject(manuals, follow_up, expected):
    result = searched(manuals, "What does error E4 mean on the Brewmaster K2?", follow_up)
    # the subject is the product a file is titled with, not the error code of the earlier question
    assert (result.text, result.how, result.subject) == (expected, "follow-up", ("Brewmaster K2",))


def test_a_follow_up_too_short_to_stand_alone_is_asked_after_the_question_it_follows(manuals):
    first = "How long is the warranty on the Brewmaster K2?"
    assert searched(manuals, first, "And the cleaning?").text == f"{first} And the cleaning?"
    assert searched(manuals, first, "And the cleaning?").asked == "And the cleaning?"  # what it asks now
    assert searched(manuals, first).asked == ""
    # joined to the last question that stood alone, not to a growing chain
    assert searched(manuals, first, "And the cleaning?", "and the error codes?").text == \
        f"{first} and the error codes?"
    # with no name to carry, a pronoun follow-up is joined the same way
    assert searched(manuals, "How do I return an item?", "How long does it take?").text == \
        "How do I return an item? How long does it take?"
    # "that" after a verb points back, whatever follows it ("that need" is a relative after a noun)
    assert searched(manuals, "How do I return an item?", "Does that need a receipt?").text == \
        "How do I return an item? Does that need a receipt?"


@pytest.mark.parametrize("switch, expected", [
    ("What about the Toastline T4?", "What does error E4 mean on the Toastline T4?"),
    ("and the K3?", "What does error E4 mean on the Brewmaster K3?"),
    ("just the K3 one?", "What does error E4 mean on the Brewmaster K3?"),
])
def test_an_entity_switch_asks_the_previous_question_of_the_new_subject(manuals, switch, expected):
    result = searched(manuals, "What does error E4 mean on the Brewmaster K2?", switch)
    assert (result.text, result.how) == (expected, "switch")


def test_the_subject_follows_a_switch_into_the_next_follow_up(manuals):
    result = searched(manuals, "How long is the warranty on the Brewmaster K2?", "What about the Toastline T4?",
                      "And how do I clean it?")
    assert result.text == "And how do I clean the Toastline T4?"


@pytest.mark.parametrize("new_topic", [
    "How do I return an item I bought online?",
    "How do I make sure that my order number is right?",  # "that" as a conjunction points nowhere
    "Which spare parts that are sold separately fit every machine?",  # nor as a relative pronoun
])
def test_a_topic_switch_does_not_inherit_the_old_subject(manuals, new_topic):
    result = searched(manuals, "How long is the warranty on the Brewmaster K2?", new_topic)
    assert result.text == new_topic and not result.rewritten


def test_there_at_the_end_points_at_the_subject_and_a_second_pronoun_joins_the_thread(manuals):
    assert searched(manuals, "How do I descale the Brewmaster K3?", "which descaler do I buy there?").text == \
        "which descaler do I buy in the Brewmaster K3?"
    first = "How long is the warranty on the Brewmaster K2?"
    # "they" carries the subject, "it" still points at what was asked: the thread is searched with it
    result = searched(manuals, first, "what do they need from me to claim it?")
    assert result.text == f"{first} what do the Brewmaster K2 need from me to claim it?"
    assert result.how == "follow-up" and result.subject == ("Brewmaster K2",)
    assert result.asked == ""  # what the thread asked says what it asks: ranked by the two joined


def test_a_question_searched_as_typed_in_a_thread_keeps_a_fallback(manuals):
    """Searched as typed; the fallback (the subject after it, or with no subject the thread) is
    what Assistant searches when the documents hold nothing relevant to it as typed."""
    result = searched(manuals, "How do I descale the Brewmaster K3?", "how long does coverage last?")
    assert (result.text, result.how) == ("how long does coverage last?", "continued")
    assert result.fallback == "how long does coverage last (Brewmaster K3)?"
    no_subject = searched(manuals, "How do I return an item?", "how long do refunds take?")
    assert (no_subject.text, no_subject.fallback) == ("how long do refunds take?",
                                                      "How do I return an item? how long do refunds take?")
    assert searched(manuals, "How long do refunds take?").fallback == ""  # a first question has none
    # searched, the fallback about the subject is ranked by itself; the one joined to the thread by what it asks
    assert (result.fallen_back().text, result.fallen_back().asked) == (result.fallback, "")
    assert (no_subject.fallen_back().text, no_subject.fallen_back().asked) == (no_subject.fallback, no_subject.text)


def test_a_detail_name_keeps_the_subject_and_an_entity_switch_replaces_the_detail_like_it(manuals):
    first = "What does error E4 mean on the Brewmaster K2?"
    assert searched(manuals, first, "and E5?").text == "What does error E5 mean on the Brewmaster K2?"
    assert searched(manuals, first, "what does E5 mean on it?").text == "what does E5 mean on the Brewmaster K2?"


def test_chinese_follow_ups_and_switches(manuals):
    assert searched(manuals, "清洁宝 X2 的保修期是多久？", "那 X5 呢？").text == "清洁宝 X5 的保修期是多久？"
    assert searched(manuals, "清洁宝 X2 的保修期是多久？", "它的电池多久能充满？").text == "X2的电池多久能充满？"
    assert not searched(manuals, "清洁宝 X2 的保修期是多久？", "网上买的东西怎么退货？").rewritten


def test_a_name_no_document_mentions_is_not_a_subject(manuals):
    result = searched(manuals, "Does the Brewmaster K9 have a timer?", "How long is its warranty?")
    assert result.subject == () and "K9" in result.text  # so the answer says the documents never mention it


def test_the_other_methods(manuals):
    assert set(FOLLOW_UPS) == {"rules", "previous", "off"}
    turns = ("How long is the warranty on the Brewmaster K2?", "How often do I descale it?")
    assert searched(manuals, *turns, method="off").text == turns[1]
    assert searched(manuals, *turns, method="previous").text == " ".join(turns)
    assert searched(manuals, *turns, method="previous").asked == turns[1]


def test_the_other_one_is_the_subject_before_the_current_one(manuals):
    result = searched(manuals, "How long is the warranty on the Brewmaster K2?", "and the Toastline T4?",
                      "and the other one?")
    assert (result.text, result.how) == ("How long is the warranty on the Brewmaster K2?", "switch")
    # with one subject so far there is no other to name: the question is joined to the one it follows
    alone = searched(manuals, "How long is the warranty on the Brewmaster K2?", "and the other one?")
    assert alone.text == "How long is the warranty on the Brewmaster K2? and the other one?"
