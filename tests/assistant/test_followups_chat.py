"""Follow-ups in a conversation, end to end with the embedded defaults (the extract path loads no
generator): `Chat` searches the self-contained question, shows it, answers from the right manual,
and forgets the subject on /reset."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.answering import Assistant, Chat
from assistant.cli import app
from assistant.config import ChatConfig, Config
from index.build import build_collection
from index.store import Collection

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "followups"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("followups-chat")
    build_collection([FIXTURES], Collection(project, "manuals"))
    return project


def chat(project: Path, follow_ups: str = "rules") -> Chat:
    config = Config(project_dir=project, chat=ChatConfig(mode="rag", collection="manuals", follow_ups=follow_ups))
    return Chat(Assistant(config))


def test_a_follow_up_is_answered_about_the_subject_of_the_conversation(project):
    session = chat(project)
    first = session.ask("How long is the warranty on the Toastline T4?")
    assert "18 months" in first.text and first.searched is None
    assert session.searched("How often should I clean it?") == "How often should I clean the Toastline T4?"
    follow_up = session.ask("How often should I clean it?")
    assert follow_up.searched == "How often should I clean the Toastline T4?"
    assert "2 weeks" in follow_up.text
    assert [s.chunk.source for s in follow_up.cited][0].endswith("toastline-t4.md")
    switch = session.ask("What about the Brewmaster K3?")
    assert switch.searched == "How often should I clean the Brewmaster K3?"
    assert "10 weeks" in switch.text and switch.cited[0].chunk.source.endswith("brewmaster-k3.md")
    assert switch.to_json()["searched"] == switch.searched

    session.command("/reset")  # forgets the subject with the history
    assert session.searched("How often should I clean it?") is None


def test_a_topic_switch_is_searched_as_typed_and_answered_from_its_own_file(project):
    session = chat(project)
    session.ask("How long is the warranty on the Brewmaster K2?")
    switch = session.ask("How do I return an item I bought online?")
    assert switch.searched is None
    assert "30 days" in switch.text and switch.cited[0].chunk.source.endswith("support.md")


def test_a_follow_up_that_finds_nothing_as_typed_is_searched_about_the_subject(project):
    """Naming nothing and pointing back at nothing, "how long does coverage last?" finds no
    sentence relevant enough as typed; its nearest passage is in the subject's manual, so it is
    searched about the subject. A new topic whose nearest passage is elsewhere stays as typed."""
    session = chat(project)
    session.ask("How do I descale the Brewmaster K3?")
    assert session.searched("how long does coverage last?") == "how long does coverage last (Brewmaster K3)?"
    answer = session.ask("how long does coverage last?")
    assert "36 months" in answer.text and answer.cited[0].chunk.source.endswith("brewmaster-k3.md")
    assert answer.searched == "how long does coverage last (Brewmaster K3)?"

    session.reset()
    session.ask("How do I descale the Brewmaster K3?")
    new_topic = session.ask("How fast does support reply?")
    assert new_topic.searched is None
    assert not any(s.chunk.source.endswith("brewmaster-k3.md") for s in new_topic.cited)

    ungrounded = chat(project)  # without grounding nothing is "not found": searched as typed
    ungrounded.helper.config.grounding.enabled = False
    ungrounded.ask("How do I descale the Brewmaster K3?")
    assert ungrounded.searched("how long does coverage last?") is None


def test_the_same_section_of_another_manual_gives_way_to_the_subjects(project):
    session = chat(project)
    session.ask("How long is the warranty on the Toastline T4?")
    answer = session.ask("how many weeks between cleanings?")  # three manuals have a Cleaning section
    assert answer.searched is None and "2 weeks" in answer.text
    assert answer.cited[0].chunk.source.endswith("toastline-t4.md")


HOW_TO = """# Dependencies

## Git dependencies

To depend on a library located in a git repository, the minimum information you need to
specify is the location of the repository with the git key:

```toml
[dependencies]
widgets = { git = "https://github.com/example/widgets.git" }
```

Since we haven't specified any other information, the tool assumes that we intend to use the
latest commit on the default branch.

You can explicitly specify which branch, commit hash or tagged ref should be used:

```toml
[dependencies]
widgets = { git = "https://github.com/example/widgets.git", branch = "next" }
```

It is possible to add a package that is located in a subdirectory of the VCS repository:

```toml
[dependencies]
widgets = { git = "https://github.com/example/tools.git", subdirectory = "widgets" }
```

To use an SSH connection, for example in the case of private repositories, use the following
example syntax:

```toml
[dependencies]
widgets = { git = "git@github.com:example/widgets.git" }
```

### Credentials for git dependencies

To use HTTP basic authentication with your git repositories, you can configure credentials the
same way you would for a private package index:

```bash
pkgtool config http-basic.git-org-project username token
pkgtool add git+https://github.com/org/project.git
```

## Path dependencies

To depend on a library located in a local directory or file, use the path key. To install it
in editable mode, use the develop key:

```toml
[dependencies]
widgets = { path = "../widgets/", develop = true }
```
"""


def test_a_follow_up_joined_to_its_thread_is_answered_by_what_it_asks_now(tmp_path):
    """A how-to page answers each follow-up in its own part; joined to the thread's first question
    to stay on topic, the follow-up would otherwise find that question's part again."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "dependencies.md").write_text(HOW_TO)
    build_collection([tmp_path / "docs"], Collection(tmp_path, "howto"))
    session = Chat(Assistant(Config(project_dir=tmp_path, chat=ChatConfig(mode="rag", collection="howto"))))
    first = session.ask("how do i add a dependency straight from a git repo?")
    assert "Git dependencies" in first.text
    editable = session.ask("and how do i make it editable?")
    assert editable.searched == "how do i add a dependency straight from a git repo? and how do i make it editable?"
    assert "develop = true" in editable.text and "**Path dependencies**" in editable.text
    login = session.helper.plan("and what if the repo needs a login?", "rag", session.history)
    assert login.ranked[0].text.startswith("To use HTTP basic authentication")
    assert login.relevance == session.helper.plan(login.searched, "rag").relevance  # abstention: the joined question's


def test_follow_ups_off_searches_as_typed(project):
    session = chat(project, follow_ups="off")
    session.ask("How long is the warranty on the Toastline T4?")
    assert session.searched("How often should I clean it?") is None
    assert session.ask("How often should I clean it?").searched is None


def test_assistant_chat_prints_the_searched_question_above_the_answer(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "assistant.toml").write_text(f'project_dir = "{project}"\n\n[chat]\ncollection = "manuals"\n')
    turns = "How long is the warranty on the Toastline T4?\nHow often should I clean it?\n/quit\n"
    result = CliRunner().invoke(app, ["chat"], input=turns)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "searched: How often should I clean the Toastline T4?" in out
    assert out.index("searched: How often") < out.index("2 weeks")


def test_the_model_method_rewrites_only_a_question_that_points_back(project, smollm2_dir, monkeypatch):
    """follow_ups = "model": the embedded model is asked for a question that points back, never
    for one that stands alone; what it writes is one line (or the rules' question when unusable)."""
    session = chat(project, follow_ups="model")
    engine, asked = session.helper.engine, []
    real_generate = engine.generate
    monkeypatch.setattr(engine, "generate", lambda *a, **kw: asked.append(a[1]) or real_generate(*a, **kw))
    session.ask("How long is the warranty on the Toastline T4?")
    assert session.searched("How do I return an item I bought online?") is None and asked == []
    rewritten = session.searched("How often should I clean it?")
    assert len(asked) == 1 and "Last question: How often should I clean it?" in asked[0][-1]["content"]
    assert rewritten and "\n" not in rewritten
    answer = session.ask("How often should I clean it?")
    assert answer.searched == rewritten and len(asked) == 1  # asked once: the answer searched what was shown


def test_the_fused_method_searches_the_rules_question_with_the_typed_one(project):
    session = chat(project, follow_ups="fused")
    session.ask("How long is the warranty on the Toastline T4?")
    answer = session.ask("How often should I clean it?")
    assert answer.searched == "How often should I clean the Toastline T4?"
    assert "2 weeks" in answer.text and answer.cited[0].chunk.source.endswith("toastline-t4.md")


def test_raft_examples_of_a_conversation_search_the_follow_up_as_the_chat_does(project, smollm2_dir):
    """A RAFT question with earlier turns is searched as `answer` searches it, fallback included,
    so that a rag+sft adapter trains on the question it will be asked."""
    from finetune.raft import RaftConfig, build_raft
    from index.retriever import open_collection
    from lm.questions import parse_record

    from assistant.answering import raft_asking

    settings = Config(project_dir=project, chat=ChatConfig(mode="rag+sft", collection="manuals"))
    asking = raft_asking(settings, str(smollm2_dir), "manuals")
    earlier = ["How do I descale the Brewmaster K3?"]
    assert asking.searched("how long does coverage last?", earlier) == "how long does coverage last (Brewmaster K3)?"
    assert asking.searched("How often should I clean it?", ["How long is the warranty on the Toastline T4?"]) == \
        "How often should I clean the Toastline T4?"
    pair = parse_record({"question": "how long does coverage last?", "answer": "36 months", "history": earlier},
                        "q.jsonl:1", "q1")
    data = build_raft([pair], open_collection(project, "manuals"), RaftConfig(distractors=2), asking=asking)
    assert data.stats.with_oracle == 1
    assert "how long does coverage last (Brewmaster K3)?" in data.examples[0].messages[-2]["content"]
    assert data.examples[0].messages[-1]["content"] == "36 months"
