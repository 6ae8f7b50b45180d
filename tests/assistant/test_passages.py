"""The passage that answers, assembled from a chunk: a lead-in with its code block, steps or table,
an FAQ's body, the answer after a question line, a visible cut; markup never shown."""

from __future__ import annotations

import pytest

from assistant.answering.choice import choose_passage
from assistant.answering.passages import MAX_LINES, Passage, passage_answer, passage_for
from assistant.answering.grounding import Sentence
from assistant.answering.sentences import split_sentences
from index.terms import Terms
from index.types import Chunk, Hit


def chunk(text: str, heading: str = "Usage", source: str = "docs/guide.md", first_line: int = 10) -> Chunk:
    return Chunk("c1", source, ("Guide", heading), 0, len(text), text, lines=(first_line, first_line + text.count("\n")))


def test_a_lead_in_brings_the_code_block_it_introduces():
    text = ("Poetry can add dependencies to groups.\n\nTo add pytest to the test group:\n\n"
            "```bash\npoetry add pytest --group test\n```\n\nGroups are optional by default.")
    passage = passage_for("To add pytest to the test group:", chunk(text))
    assert passage.text.startswith("To add pytest to the test group:")
    assert "```bash\npoetry add pytest --group test\n```" in passage.text
    assert passage.lines[0] == 12  # the lead-in's line in the file


def test_a_sentence_pointing_ahead_brings_the_steps_or_table_after_it():
    steps = "1. Open the settings.\n2. Pick a theme.\n3. Save."
    passage = passage_for("Change the theme with the following steps.",
                          chunk(f"Change the theme with the following steps.\n\n{steps}\n\nThemes are kept per user."))
    assert steps in passage.text
    table = "| option | default |\n|---|---|\n| timeout | 5.0 |\n| retries | 0 |"
    passage = passage_for("The client's defaults are", chunk(f"The client's defaults are:\n\n{table}"))
    assert table in passage.text


def test_a_code_line_as_the_best_match_shows_its_block_with_the_lead_in():
    text = "Set the alignment on the screen:\n\n```css\nScreen {\n    align: center middle;\n}\n```"
    passage = passage_for("align: center middle;", chunk(text))
    assert passage.text == text


def test_under_an_faq_question_the_body_is_the_answer_not_the_question():
    text = ("How do I pass arguments to an app?\n\nFor example:\n\n```python\napp = MyApp(greeting='hi')\n```")
    passage = passage_for("How do I pass arguments to an app? For example:", chunk(text, "Can I pass arguments?"))
    assert not passage.text.startswith("How do I pass") and "greeting='hi'" in passage.text


def test_a_question_line_is_skipped_for_the_answer_after_it():
    text = "#### 2. 什么是前缀微调？\n\n**题目：** 请解释什么是前缀微调\n\n**答案：** 在输入前加一段可训练的连续向量。\n\n**解析：** 只训练前缀。"
    passage = passage_for("**题目：** 请解释什么是前缀微调", chunk(text, "面试题"))
    assert "题目" not in passage.text and "答案" in passage.text


def test_a_fact_in_a_long_paragraph_is_its_sentence():
    text = ("The kettle holds 1.6 litres. It boils in three minutes. The base turns freely. "
            "The lid opens with a button. The warranty lasts 30 months.")
    passage = passage_for("The warranty lasts 30 months.", chunk(text, "Specifications"))
    assert passage.text == "The warranty lasts 30 months."


def test_a_long_passage_is_cut_visibly_and_says_where_the_rest_is():
    code = "```python\n" + "\n".join(f"step_{i}()" for i in range(80)) + "\n```"
    passage = passage_for("Run every step:", chunk(f"Run every step:\n\n{code}"))
    assert passage.cut and len(passage.text.splitlines()) <= MAX_LINES + 2
    assert passage.text.rstrip().endswith("```") and "# …" in passage.text  # the fence still closes
    answer = passage_answer(passage, "Usage", 1)
    assert "the rest is in docs/guide.md, lines 10–" in answer and answer.endswith("[1]")


def test_markup_and_diagrams_are_never_shown():
    text = ("```mermaid\ngraph TD\n  A --> B\n```\n\n<div align=\"center\"><img src=\"x.png\"></div>\n\n"
            "{{< tabs >}}\n\nThe retriever returns the top five chunks.")
    passage = passage_for("A --> B", chunk(text))
    assert "mermaid" not in passage.text and "<div" not in passage.text and "{{" not in passage.text
    assert passage.text == "The retriever returns the top five chunks."
    assert passage_for("graph TD", chunk("```mermaid\ngraph TD\n  A --> B\n```")) is None
    assert split_sentences(text) == ["The retriever returns the top five chunks."]  # nor ranked as sentences


def test_the_passage_runs_on_into_the_next_chunk_of_its_section():
    head, code = "Some intro.\n\nInstall it like this:", "```bash\npip install thing\n```"
    first = Chunk("c1", "docs/guide.md", ("Guide",), 0, len(head), head, lines=(1, 3))
    second = Chunk("c2", "docs/guide.md", ("Guide",), len(head) + 2, len(head) + 2 + len(code), code, lines=(5, 7))
    passage = passage_for("Install it like this:", first, following=second)
    assert "pip install thing" in passage.text and passage.lines == (3, 7)


def test_a_section_that_only_leads_in_runs_on_into_its_first_subsection_under_its_heading():
    lead = "## Start the server\n\nOne 24 GB card is enough, no tensor parallelism."
    sub = "### From the command line\n\n```bash\npython -m sglang.launch_server --port 8000\n```"
    section = Chunk("c1", "docs/deploy.md", ("Deploy", "Start the server"), 0, len(lead), lead, lines=(10, 12))
    first_sub = Chunk("c2", "docs/deploy.md", ("Deploy", "Start the server", "From the command line"),
                      len(lead) + 2, len(lead) + 2 + len(sub), sub, lines=(14, 18))
    passage = passage_for("One 24 GB card is enough, no tensor parallelism.", section, following=first_sub)
    assert "**From the command line**" in passage.text and "sglang.launch_server" in passage.text
    assert passage.lines == (12, 18)
    # a section with a body of its own is answered from it alone
    body = lead + " It starts in a minute. Logs go to the console.\n\n- one\n- two"
    longer = Chunk("c1", "docs/deploy.md", ("Deploy", "Start the server"), 0, len(body), body, lines=(10, 16))
    alone = passage_for("One 24 GB card is enough, no tensor parallelism.", longer, following=first_sub)
    assert "sglang" not in alone.text and "From the command line" not in alone.text


def chosen(question: str, *candidates: tuple[str, tuple[str, ...], str, str, float]) -> Chunk:
    """The chunk choose_passage answers `question` from, among retrieved chunks given as (file,
    heading path, text, its best-ranked sentence, that sentence's score), best retrieved first."""
    hits = [Hit(Chunk(f"c{n}", source, path, 0, len(text), text), 1.0)
            for n, (source, path, text, _, _) in enumerate(candidates, start=1)]
    ranked = [Sentence(n, sentence, score) for n, (*_, sentence, score) in enumerate(candidates, start=1)]
    return hits[choose_passage(question, hits, ranked, Terms()).hit].chunk


@pytest.mark.parametrize("question, expected", [
    ("Which option of the build command changes the output folder?", "cli.md"),
    ("Where does the build put the packages?", "packaging.md"),
])
def test_a_passage_showing_the_kind_of_thing_asked_for_is_preferred(question, expected):
    prose = "Packages are built into the dist folder, a wheel and an sdist."
    options = "* `--output (-o)`: Set the output folder for the packages."
    chunk = chosen(question, ("docs/packaging.md", ("Packaging",), prose, prose, 0.55),
                   ("docs/cli.md", ("build", "Options"), options, options, 0.45))
    assert chunk.source.endswith(expected)


@pytest.mark.parametrize("named, expected", [("How do I deploy Qwen2.5 with vLLM?", "qwen"), ("How do I deploy GLM-4 with vLLM?", "glm")])
def test_a_name_in_the_question_prefers_the_document_it_titles(named, expected):
    text = "Start the server:\n\n```bash\nvllm serve model\n```"
    chunk = chosen(named, *[(f"models/{name}/vllm.md", (f"{name} vLLM",), text, "Start the server:", 0.5)
                            for name in ("Qwen2.5", "GLM-4")])
    assert expected in chunk.source.lower()


def test_a_name_its_file_path_carries_beats_a_title_copied_from_another_tutorial():
    # the Coder tutorial was copied from the plain one and kept its title: both headings name the
    # plain model, only one file does
    text = "Start the server:\n\n```bash\nvllm serve model\n```"
    title = ("03-Qwen2.5-7B-Instruct vLLM", "Serve")
    chunk = chosen("How do I serve Qwen2.5-7B-Instruct with vLLM?", *[(path, title, text, "Start the server:", 0.5) for path in
                   ("models/Qwen2.5-Coder/04-Qwen2.5-Coder-7B-Instruct vLLM.md", "models/Qwen2.5/03-Qwen2.5-7B-Instruct vLLM.md")])
    assert "Coder" not in chunk.source


@pytest.mark.parametrize("question, expected", [
    ("How do I get reasoning_content from Qwen3-8B with vllm serve?", "Qwen3-8B"),
    ("How do I get reasoning_content with vllm serve?", "Hunyuan"),  # no version named: the better sentence
])
def test_a_question_naming_a_version_is_answered_from_the_page_of_that_version(question, expected):
    # per-model tutorials share their steps; the other model's page shows that model's parser
    other = "Pass `--enable-reasoning --reasoning-parser hunyuan_a13b` to return `reasoning_content`."
    own = "Add `--enable-reasoning --reasoning-parser deepseek_r1` when you start the server."
    chunk = chosen(question, ("models/Hunyuan-A13B/02-Hunyuan-A13B-vLLM.md", ("vLLM",), other, other, 0.7),
                   ("models/Qwen3/02-Qwen3-8B-vLLM.md", ("vLLM",), own, own, 0.45))
    assert expected in chunk.source


def test_among_pages_carrying_the_question_s_names_the_one_carrying_most_of_them_answers():
    # the LM Studio page carries 'Windows' and 'Qwen3-8B', the AMD page 'Qwen3-8B' only; a page
    # carrying none of them never answers a question naming a version, however close its sentence
    text = "Point the client at the local server: `OpenAI(base_url=\"http://localhost:1234/v1\")`."
    chunk = chosen("On Windows, how do I call Qwen3-8B from Python?",
                   ("models/GLM-4/lmstudio.md", ("LM Studio",), text, text, 0.9),
                   ("models/Qwen3/11-Qwen3-8B-AMD.md", ("Call",), text, text, 0.8),
                   ("models/Qwen3/03-Qwen3-8B Windows LMStudio.md", ("Call",), text, text, 0.5))
    assert chunk.source.endswith("Windows LMStudio.md")


def test_a_heading_written_in_bold_is_shown_bold_once():
    chunk = Chunk("c1", "docs/serve.md", ("**Serving**",), 0, 9, "Run `vllm serve`.")
    assert passage_answer(Passage(chunk.text, chunk), "**Serving**", 1).startswith("**Serving**\n\nRun")


@pytest.mark.parametrize("title_path, shown", [
    (("Commands", "version", "Options"), "version > Options"),  # whose options: the heading above says
    (("Guide", "参数说明"), "Guide > 参数说明"),
    (("Commands", "version"), "version"),
    (("Options",), "Options"),  # nothing above it
    (("**Commands**", "`env use`", "**Options**"), "`env use` > Options"),  # bold taken off each, not the join
    (("部署", "3. 参数说明"), "部署 > 3. 参数说明"),  # numbered
])
def test_an_answer_under_a_heading_that_names_a_part_says_whose_part_it_is(title_path, shown):
    from assistant.answering.types import Excerpt, Plan

    options = Chunk("c1", "docs/cli.md", title_path, 0, 9, "* `--short (-s)`: Output the version number only.")
    plan = Plan("q", "rag", "docs", None, False, grounded=True, excerpts=(Excerpt(1, Hit(options, 1.0)),))
    section = plan.section(Sentence(1, "Output the version number only."))
    assert section == shown
    assert passage_answer(Passage(options.text, options), section, 1).startswith(f"**{shown}**\n\n* `--short")


def _section(*texts: str, path=("Guide", "Monitoring download progress"), source="docs/quickstart.md",
             gap: int = 2) -> list[Chunk]:
    """A section cut into consecutive chunks, one per text, with their file lines; `gap`: the
    newlines between two chunks (1 where the cut falls inside a block)."""
    chunks, line, start = [], 10, 0
    for n, text in enumerate(texts):
        chunks.append(Chunk(f"{source}#{n}", source, path, start, start + len(text), text,
                            lines=(line, line + text.count("\n"))))
        line, start = line + text.count("\n") + gap, start + len(text) + gap
    return chunks


PROGRESS = _section(
    "To monitor download progress, stream the response and read `response.num_bytes_downloaded`.",
    "Compression hides the content length, so count what arrived.\n\n"
    "For example, showing a progress bar with tqdm could be done like this…",
    "```python\nwith httpx.stream(\"GET\", url) as response:\n    for chunk in response.iter_bytes():\n"
    "        progress.update(response.num_bytes_downloaded)\n```")


def test_a_passage_stopping_on_a_lead_in_where_the_next_chunk_ends_reads_on_into_the_one_after():
    first, following, further = PROGRESS
    sentence = "To monitor download progress, stream the response and read `response.num_bytes_downloaded`."
    short = passage_for(sentence, first, following=following)
    assert short.text.endswith("could be done like this…") and "```" not in short.text
    passage = passage_for(sentence, first, following=following, further=further)
    assert passage.text.endswith("progress.update(response.num_bytes_downloaded)\n```")
    assert passage.lines == (10, further.lines[1])
    # a chunk of another section is never read on into
    elsewhere = _section(further.text, path=("Guide", "Streaming"))[0]
    assert passage_for(sentence, first, following=following, further=elsewhere).text == short.text


def test_code_a_chunk_boundary_cuts_is_shown_fenced_and_marked_cut():
    ends_inside = chunk("Load the model in 4 bits:\n\n```python\nmodel = AutoModel.from_pretrained(\n    path,\n"
                        "    load_in_4bit=True,")
    passage = passage_for("Load the model in 4 bits:", ends_inside)
    assert passage.text.endswith("    load_in_4bit=True,\n# …\n```") and passage.cut
    assert "(cut here: the rest is in docs/guide.md" in passage_answer(passage, "Usage", 1)
    starts_inside = chunk("    device_map='auto',\n)\n```\n\nThe model now takes 5.7 GB.")
    passage = passage_for("The model now takes 5.7 GB.", starts_inside, whole_section=True)
    assert passage.text.count("```") % 2 == 0


def test_a_chunk_cut_inside_code_at_both_ends_shows_its_prose_as_prose():
    # two fences, even in number, yet the first closes the block the chunk began inside: the
    # second names a language, and only an opening fence names one
    both = chunk("print(response)\n```\n\nTo turn thinking off, set enable_thinking to False, for example:"
                 "\n\n```python\nfrom vllm import LLM\nllm = LLM(model=path)")
    passage = passage_for("To turn thinking off, set enable_thinking to False, for example:", both)
    assert passage.text.startswith("To turn thinking off") and passage.cut
    assert passage.text.endswith("```python\nfrom vllm import LLM\nllm = LLM(model=path)\n# …\n```")


SCRIPT = ("To turn thinking off, set enable_thinking to False, for example:\n\n```python\n"
          + "".join(f"step_{n} = prepare({n})\n" for n in range(40))
          + "text = tokenizer.apply_chat_template(messages, enable_thinking=False)\n"
          + "".join(f"print(step_{n})\n" for n in range(15)) + "```")


def test_a_long_code_block_is_cut_around_the_line_its_lead_in_names():
    passage = passage_for("To turn thinking off, set enable_thinking to False, for example:", chunk(SCRIPT))
    assert "enable_thinking=False)" in passage.text and passage.cut
    code = passage.text.split("```python\n", 1)[1].splitlines()
    assert code[0] == "# …" and code[-2:] == ["# …", "```"]  # left out above and below, fenced
    assert len(passage.text.splitlines()) <= MAX_LINES + 2
    # no line below the top shares two of its words: the top, as before
    plain = passage_for("For example:", chunk(SCRIPT.replace("To turn thinking off, set enable_thinking to False, ", "")))
    assert "step_0 = prepare(0)" in plain.text and "enable_thinking" not in plain.text


def test_the_chosen_passage_reads_on_chunk_by_chunk_while_it_stops_inside_code():
    lines = SCRIPT.split("\n")
    rows = _section(*("\n".join(lines[i:i + 12]) for i in range(0, len(lines), 12)), path=("Guide", "Offline inference"),
                    gap=1)
    assert len(rows) == 5 and "enable_thinking=False" in rows[3].text  # 2 chunks past the next

    def neighbours(hit):
        after = rows[hit.row + 1] if hit.row + 1 < len(rows) else None
        return None, after

    hits, ranked = [Hit(rows[0], 1.0, row=0)], [Sentence(1, lines[0], 0.5)]
    choice = choose_passage("How do I turn thinking off?", hits, ranked, Terms(), neighbours)
    assert "enable_thinking=False)" in choice.passage.text and choice.passage.cut


def test_a_passage_that_begins_inside_code_reads_back_to_the_code_s_start():
    head = "Set the LoRA rank first:\n\n```python\nlora_rank = 32\n" + "".join(f"x_{n} = {n}\n" for n in range(10))
    tail = "".join(f"y_{n} = {n}\n" for n in range(10)) + "lora_alpha = lora_rank * 2\n```\n\nThen train."
    rows = _section(head, tail, path=("Guide", "LoRA"))

    def neighbours(hit):
        before = rows[hit.row - 1] if hit.row > 0 else None
        return before, rows[hit.row + 1] if hit.row + 1 < len(rows) else None

    hits, ranked = [Hit(rows[1], 1.0, row=1)], [Sentence(1, "lora_alpha = lora_rank * 2", 0.5)]
    passage = choose_passage("What lora_alpha and rank does it use?", hits, ranked, Terms(), neighbours).passage
    assert passage.text.startswith("Set the LoRA rank first:\n\n```python\nlora_rank = 32\n")
    assert "lora_alpha = lora_rank * 2" in passage.text and not passage.begins_in_code
    assert passage.lines[0] == rows[0].lines[0]
    alone = passage_for("lora_alpha = lora_rank * 2", rows[1])  # without the chunk before: cut, and marked so
    assert alone.begins_in_code and alone.text.startswith("```\n# …\n")
    # read back, the block outgrows what is shown whole: it is cut around the line that matched
    head = "Train it:\n\n```python\n" + "".join(f"x_{n} = {n}\n" for n in range(30))
    tail = "".join(f"y_{n} = {n}\n" for n in range(20)) + "fit()\n```"
    rows = _section(head.rstrip("\n"), tail, path=("Guide", "Train"), gap=1)
    hits, ranked = [Hit(rows[1], 1.0, row=1)], [Sentence(1, "fit()", 0.5)]
    passage = choose_passage("How do I train it?", hits, ranked, Terms(), neighbours).passage
    assert "fit()" in passage.text and passage.text.startswith("Train it:") and passage.cut


def test_only_the_chosen_passage_reads_on_so_a_longer_one_does_not_win_for_its_words():
    # the second section's words are all in its third chunk: read on before choosing, it would win
    other = _section("Progress of uploads is not reported.", "Uploads stream from files, see below.",
                     "Download progress: tqdm shows a bar while streaming, monitor it for each response.",
                     path=("Guide", "Uploads"), source="docs/uploads.md")
    rows = PROGRESS + other
    hits = [Hit(rows[0], 1.0, row=0), Hit(rows[3], 0.9, row=3)]

    def neighbours(hit):
        after = rows[hit.row + 1] if hit.row + 1 < len(rows) else None
        return None, after if after is not None and after.title_path == hit.chunk.title_path else None

    ranked = [Sentence(1, rows[0].text, 0.5), Sentence(2, rows[3].text, 0.5)]
    choice = choose_passage("How do I show download progress with a bar while streaming?", hits, ranked, Terms(), neighbours)
    assert choice.hit == 0 and "progress.update" in choice.passage.text


def test_a_how_to_passage_with_nothing_to_run_that_ends_its_section_goes_on_into_the_next_steps_command():
    edit = Chunk("e", "docs/deploy.md", ("Deploy", "Edit the config"), 0, 60,
                 "Set the port in `conf/config.json`.\n\nWhen you are done, save the file.", lines=(20, 22))
    start = Chunk("s", "docs/deploy.md", ("Deploy", "Start the service"), 62, 130,
                  "## Start the service\n\n```bash\n./bin/daemon --config conf/config.json\n```\n\nIt takes a minute.",
                  lines=(24, 30))
    sentence = "When you are done, save the file."
    passage = passage_for(sentence, edit, following=start, reads_on=True)
    assert passage.text.endswith("**Start the service**\n\n```bash\n./bin/daemon --config conf/config.json\n```"
                                 "\n\nIt takes a minute.") and passage.lines == (22, 30)
    alone = passage_for(sentence, edit, following=start)  # not a how-to question: the step alone
    assert alone.text == sentence and alone.lines == (22, 22)
    # the next section opens with prose, not a command to run: nothing to read on for
    prose = Chunk("s", "docs/deploy.md", ("Deploy", "Troubleshooting"), 62, 130,
                  "## Troubleshooting\n\nIf it does not start, read the log.\n\n```bash\ntail log.txt\n```")
    assert passage_for(sentence, edit, following=prose, reads_on=True).text == sentence
    # a passage that shows its own command is an answer already
    shown = Chunk("e", "docs/deploy.md", ("Deploy", "Edit the config"), 0, 60,
                  "Save the file with:\n\n```bash\n:wq\n```")
    assert "daemon" not in passage_for("Save the file with:", shown, following=start, reads_on=True).text
    # choose_passage reads on for a question that asks how, not for one that asks what
    hits, ranked = [Hit(edit, 1.0, row=0)], [Sentence(1, sentence, 0.5)]
    rows = [edit, start]

    def neighbours(hit):
        return None, rows[hit.row + 1] if hit.row + 1 < len(rows) else None

    how = choose_passage("After saving the config, how do I start the service?", hits, ranked, Terms(), neighbours)
    assert "./bin/daemon" in how.passage.text
    what = choose_passage("What do I do when the config is done?", hits, ranked, Terms(), neighbours)
    assert "./bin/daemon" not in what.passage.text


def test_a_list_of_options_keeps_the_command_that_uses_them():
    options = "\n".join(f"- `--{name}` sets the {name}." for name in ("host", "port", "model", "chat-template",
                                                                       "served-model-name", "max-model-len"))
    command = "```bash\npython -m vllm.entrypoints.openai.api_server --model /models/qwen --max-model-len=2048\n```"
    text = ("vLLM serves an OpenAI-compatible API on port 8000 by default, one model at a time.\n\n"
            "- `completions`: plain text generation.\n- `chat completions`: dialogue.\n\n"
            f"The server takes the model's name, path and chat template.\n\n{options}\n\n{command}")
    passage = passage_for("vLLM serves an OpenAI-compatible API on port 8000 by default, one model at a time.", chunk(text))
    assert passage.text.endswith(command)
    # a code block that uses none of the options is not the list's command
    unrelated = passage_for("vLLM serves an OpenAI-compatible API on port 8000 by default, one model at a time.",
                            chunk(text.replace(command, "```bash\ncurl http://localhost:8000/v1/models\n```")))
    assert "curl" not in unrelated.text


@pytest.mark.parametrize("question, expected", [
    ("How do I call the local server from Python?", "Call it from Python"),
    ("What does this guide cover?", "Introduction"),
])
def test_an_introduction_gives_way_to_the_section_it_announces_for_a_how_to_question(question, expected):
    intro = "This guide shows how to start the local server and call it from Python with the openai library."
    how = "Point the client at the local server:\n\n```python\nclient = OpenAI(base_url=\"http://localhost:1234/v1\")\n```"
    chunk = chosen(question, ("docs/lmstudio.md", ("LM Studio", "1. Introduction"), intro, intro, 0.62),
                   ("docs/lmstudio.md", ("LM Studio", "3. Call it from Python"), how, "Point the client at the local server:", 0.5))
    assert chunk.title_path[-1].endswith(expected)


def test_a_question_naming_a_version_or_a_command_in_code_also_retrieves_the_page_or_section_titled_with_it(tmp_path):
    from assistant.answering import stages
    from assistant.answering.types import Plan
    from index.build import build_collection
    from index.config import RetrievalConfig
    from index.retriever import Retriever
    from index.store import Collection

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "Gemma3.5-4B-vLLM.md").write_text("# Gemma3.5-4B vLLM\n\nThinking mode: vllm serve returns the thinking in "
                                              "reasoning_content; reasoning_content holds the thinking.\n")
    (docs / "Gemma3-27B-vLLM.md").write_text("# Gemma3-27B vLLM\n\nStart vllm serve with --enable-reasoning. "
                                             + "Downloading the weights takes a while. " * 12 + "\n")
    (docs / "cli.md").write_text("# Commands\n\n## build\n\nThe option `--print` prints only the version of the "
                                 "package built: this option prints the version only.\n\n## version\n\nShows the "
                                 "project's.\n\n### Options\n\n* `--short (-s)`: Output the number alone.\n")
    for n in range(6):  # Okapi's IDF is 0 for a word half of the files hold: a collection of two finds nothing
        (docs / f"topic{n}.md").write_text(f"# Topic {n}\n\nThis page is about subject number {n}.\n")
    collection = Collection(tmp_path / "project", "models")
    build_collection([docs], collection)
    retriever = Retriever.open(collection)
    settings = RetrievalConfig(mode="bm25")

    def hits(question: str):
        plan = Plan(question, "rag", "models", None, False, grounded=True, searched=question)
        return stages.retrieve(plan, retriever, settings, 1).hits

    def files(question: str) -> list[str]:
        return [hit.chunk.source.rsplit("/", 1)[-1] for hit in hits(question)]

    assert files("How do I get reasoning_content from Gemma3-27B with vllm serve?") == [
        "Gemma3.5-4B-vLLM.md", "Gemma3-27B-vLLM.md"]
    assert files("How do I get reasoning_content with vllm serve?") == ["Gemma3.5-4B-vLLM.md"]  # no version named
    sections = [hit.chunk.title_path for hit in hits("Which option of `poetry version` prints the version only?")]
    assert sections == [("Commands", "build"), ("Commands", "version", "Options"), ("Commands", "version")]
    assert len(hits("Which option of poetry version prints the version only?")) == 1  # not written as code


def test_an_admonition_in_a_passage_is_shown_as_a_quote_not_as_indented_code():
    text = ("Hooks may read the body:\n\n!!! note\n\n    Hooks run before the body is read.\n\n"
            "    Call `response.read()` first.\n\nThat is all.")
    passage = passage_for("Hooks may read the body:", chunk(text), whole_section=True)
    assert "> **Note**\n>\n> Hooks run before the body is read.\n>\n> Call `response.read()` first." in passage.text
    assert "!!!" not in passage.text and "\n    " not in passage.text
    assert passage_answer(passage, "Hooks", 1).endswith("That is all. [1]")


def test_a_link_to_an_api_page_is_shown_by_its_text_and_code_is_left_as_written():
    text = ("Fill the table with [add_rows][textual.widgets.DataTable.add_rows]:\n\n"
            "```python\ntable.add_rows(rows[1:])\ncell = grid[0][1]\n```")
    passage = passage_for("Fill the table with [add_rows][textual.widgets.DataTable.add_rows]:", chunk(text))
    assert passage.text.startswith("Fill the table with add_rows:") and "cell = grid[0][1]" in passage.text
