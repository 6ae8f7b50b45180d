import pytest

from index.chunking import Chunker, chunk_id, search_text
from index.embedder import load_tokenizer
from index.types import Document, Section


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("all-MiniLM-L6-v2")


def _doc(text, sections=None, source="a.md"):
    return Document(source, text, tuple(sections or [Section((), 0, len(text))]))


def _tokens(tokenizer, text):
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_chunks_respect_the_token_bound_and_cover_the_text(tokenizer):
    paragraphs = [f"Paragraph {i} talks about topic {i} at some length. " * 6 for i in range(20)]
    text = "\n\n".join(paragraphs)
    chunks = Chunker(tokenizer, max_tokens=80, overlap=16).chunk(_doc(text))
    assert len(chunks) > 5
    assert all(_tokens(tokenizer, c.text) <= 80 for c in chunks)
    assert all(c.text == text[c.start:c.end] for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_consecutive_chunks_overlap_by_whole_sentences(tokenizer):
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = Chunker(tokenizer, max_tokens=60, overlap=20).chunk(_doc(text))
    assert len(chunks) > 2
    for left, right in zip(chunks, chunks[1:]):
        assert right.start < left.end  # shared text
        assert text[right.start:left.end].rstrip().endswith(".")


def test_run_on_text_is_cut_into_token_windows(tokenizer):
    text = "x" * 10 + " ".join(["supercalifragilistic"] * 400)  # no sentence or paragraph breaks
    chunks = Chunker(tokenizer, max_tokens=50, overlap=10).chunk(_doc(text))
    assert all(_tokens(tokenizer, c.text) <= 50 for c in chunks)
    assert chunks[-1].end == len(text)


def test_sections_keep_their_title_path(tokenizer):
    text = "# A\nintro\n## B\nbody of b"
    sections = [Section(("A",), 0, 10), Section(("A", "B"), 10, len(text))]
    chunks = Chunker(tokenizer, 100, 10).chunk(_doc(text, sections))
    assert [c.title_path for c in chunks] == [("A",), ("A", "B")]
    assert search_text(chunks[1]).startswith("A > B\n")


def test_chunk_ids_are_stable_and_depend_on_place_and_text(tokenizer):
    doc = _doc("Alpha beta gamma.\n\nDelta epsilon.")
    first = Chunker(tokenizer, 100, 10).chunk(doc)
    again = Chunker(tokenizer, 100, 10).chunk(doc)
    assert [c.id for c in first] == [c.id for c in again]
    assert chunk_id("a.md", "", 0, "x") != chunk_id("b.md", "", 0, "x")
    assert chunk_id("a.md", "", 0, "x") != chunk_id("a.md", "", 1, "x")


def test_blank_sections_make_no_chunks(tokenizer):
    assert Chunker(tokenizer, 100, 10).chunk(_doc("   \n\n  ")) == []


def test_cjk_text_is_bounded_too(tokenizer):
    text = "检索增强生成结合了检索和生成。" * 200
    chunks = Chunker(tokenizer, 64, 8).chunk(_doc(text))
    assert len(chunks) > 3
    assert all(_tokens(tokenizer, c.text) <= 64 for c in chunks)


def test_chinese_sentences_end_at_full_width_marks_and_keep_their_closing_quotes(tokenizer):
    sentence = "他说：“先备份数据库。”然后重启服务！再检查日志；最后确认（完成）。"
    text = sentence * 12  # one paragraph, no spaces, longer than max_tokens
    chunks = Chunker(tokenizer, max_tokens=60, overlap=0).chunk(_doc(text))
    assert len(chunks) > 2
    for chunk in chunks:
        assert _tokens(tokenizer, chunk.text) <= 60
        assert chunk.text[0] not in "”」）。；"  # a cut never leaves a closing mark at the start
        assert chunk.text[-1] in "。”！；"  # chunks end where sentences end, not in a fixed window


def test_han_characters_count_one_token_each_so_a_chunk_holds_about_max_tokens_characters(tokenizer):
    text = "向量数据库支持混合检索与重排序" * 40
    chunks = Chunker(tokenizer, max_tokens=100, overlap=10).chunk(_doc(text))
    assert all(90 <= len(c.text) <= 100 for c in chunks[:-1])


def test_mixed_chinese_and_english_text_is_bounded_and_covered(tokenizer):
    step = "第{i}步：运行 `pip install package-{i}` 安装依赖，然后执行 pytest -q 检查结果。"
    text = "\n\n".join(step.format(i=i) * 4 for i in range(10))
    chunks = Chunker(tokenizer, max_tokens=80, overlap=16).chunk(_doc(text))
    assert all(_tokens(tokenizer, c.text) <= 80 for c in chunks)
    assert all(c.text == text[c.start:c.end] for c in chunks)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_full_width_and_traditional_text_is_bounded(tokenizer):
    text = "ＭｙＳＱＬ資料庫備份與還原，使用ｍｙｓｑｌｄｕｍｐ匯出。" * 50
    chunks = Chunker(tokenizer, 64, 8).chunk(_doc(text))
    assert len(chunks) > 3
    assert all(_tokens(tokenizer, c.text) <= 64 for c in chunks)


def _prose(n: int, topic: str) -> str:
    return " ".join(f"The {topic} note number {i} explains one more detail of the setup." for i in range(n))


def test_a_lead_in_stays_with_the_code_block_list_or_table_it_introduces(tokenizer):
    code = "```bash\npoetry add pytest --group test\n\npoetry install --with test\n```"
    steps = "1. Open the settings.\n2. Pick a theme.\n\n3. Save."
    table = "| option | default |\n|---|---|\n| timeout | 5.0 |"
    text = (f"{_prose(6, 'first')}\n\nTo add a dependency to a group:\n\n{code}\n\n{_prose(5, 'second')}\n\n"
            f"To do this:\n\n{steps}\n\n{_prose(5, 'third')}\n\nThe defaults are:\n\n{table}\n")
    chunks = Chunker(tokenizer, max_tokens=70, overlap=0).chunk(_doc(text))
    for lead_in, block in (("To add a dependency to a group:", code), ("To do this:", steps), ("The defaults are:", table)):
        holding = [c for c in chunks if lead_in in c.text]
        assert holding and all(block in c.text for c in holding), (lead_in, [c.text for c in chunks])


def test_a_code_block_is_cut_only_when_it_alone_is_longer_than_a_chunk(tokenizer):
    short = "```python\nclient = httpx.Client(timeout=10.0)\n\nresponse = client.get(url)\n```"
    long_code = "```python\n" + "\n".join(f"value_{i} = compute(value_{i - 1}, step={i})" for i in range(1, 60)) + "\n```"
    text = f"{_prose(8, 'intro')}\n\n{short}\n\n{_prose(8, 'middle')}\n\n{long_code}\n"
    chunks = Chunker(tokenizer, max_tokens=60, overlap=0).chunk(_doc(text))
    assert any(short in c.text for c in chunks)  # whole, blank line inside and all
    long_parts = [c for c in chunks if "value_" in c.text]
    assert len(long_parts) > 1 and all(_tokens(tokenizer, c.text) <= 60 for c in long_parts)
    assert all(c.text.splitlines()[-1].startswith(("value_", "```")) for c in long_parts)  # cut between lines
    led = f"{_prose(3, 'intro')}\n\nRun every step in order:\n\n{long_code}\n"
    lead_chunks = [c for c in Chunker(tokenizer, max_tokens=60, overlap=8).chunk(_doc(led)) if "Run every step" in c.text]
    assert lead_chunks and all("```python\nvalue_1" in c.text for c in lead_chunks)  # with the block's first lines
    by_paragraphs = Chunker(tokenizer, max_tokens=60, overlap=0, unit="paragraphs").chunk(_doc(text))
    assert all(_tokens(tokenizer, c.text) <= 60 for c in by_paragraphs)  # the rule before blocks, still there


def test_chunks_know_their_lines_in_the_file(tokenizer):
    text = "# Title\n\nline three\n\n" + "\n\n".join(_prose(4, f"part {i}") for i in range(6))
    doc = Document("a.md", text, (Section(("Title",), 0, len(text)),), first_line=5)  # 4 lines of front matter
    chunks = Chunker(tokenizer, max_tokens=60, overlap=16).chunk(doc)
    assert len(chunks) > 2
    for chunk in chunks:
        first = 5 + text.count("\n", 0, chunk.start)
        assert chunk.lines == (first, first + chunk.text.count("\n"))
    records = Chunker(tokenizer).chunk(Document("a.jsonl", "one record", (Section((), 0, 10),), first_line=None))
    assert records[0].lines is None
