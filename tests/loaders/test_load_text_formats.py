"""Markdown, reStructuredText, plain text and code: text kept as is, headings → title paths."""

from pathlib import Path

import pytest

from index.loaders import LoaderOptions, load_file
from index.types import LoadError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "docs_mixed"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def paths_and_text(doc) -> list[tuple[tuple[str, ...], str]]:
    return [(s.title_path, doc.text[s.start : s.end]) for s in doc.sections]


def assert_well_formed(doc):
    """Sections lie inside the text, in order, without overlap."""
    ends = [0] + [s.end for s in doc.sections]
    for section, previous_end in zip(doc.sections, ends):
        assert previous_end <= section.start < section.end <= len(doc.text)


def test_markdown_nested_headings_and_front_matter():
    [doc] = load_file(FIXTURES / "guide.md", "guide.md")
    assert_well_formed(doc)
    assert doc.title == "Zorblax 3000 User Guide"
    assert not doc.text.startswith("---")
    paths = [p for p, _ in paths_and_text(doc)]
    assert paths == [
        (),
        ("Zorblax 3000 Guide",),
        ("Zorblax 3000 Guide", "Installation"),
        ("Zorblax 3000 Guide", "Installation", "Linux"),
        ("Zorblax 3000 Guide", "Installation", "Windows"),
        ("Zorblax 3000 Guide", "Network"),
        ("Troubleshooting",),
    ]
    network = dict(paths_and_text(doc))[("Zorblax 3000 Guide", "Network")]
    assert network.startswith("## Network\n") and "default port is 7431" in network


def test_markdown_hash_in_fenced_code_is_not_a_heading(tmp_path):
    text = "# Top\n\n```python\n# a comment\n```\n\n~~~\n## also code\n~~~\n\nafter\n"
    [doc] = load_file(write(tmp_path, "a.md", text), "a.md")
    assert doc.text == text
    assert [p for p, _ in paths_and_text(doc)] == [("Top",)]


def test_markdown_setext_headings(tmp_path):
    text = "Guide\n=====\n\nintro\n\nInstall\n-------\n\nsteps\n"
    [doc] = load_file(write(tmp_path, "a.markdown", text), "a.markdown")
    assert paths_and_text(doc) == [
        (("Guide",), "Guide\n=====\n\nintro\n\n"),
        (("Guide", "Install"), "Install\n-------\n\nsteps\n"),
    ]


def test_markdown_without_headings_is_one_section(tmp_path):
    [doc] = load_file(write(tmp_path, "a.mdx", "just words\n"), "a.mdx")
    assert paths_and_text(doc) == [((), "just words\n")]


def test_rst_levels_follow_first_appearance_of_each_style(tmp_path):
    text = (
        "=====\nTitle\n=====\n\nintro\n\n"
        "Part one\n--------\n\nbody\n\n"
        "Detail\n~~~~~~\n\nmore\n\n"
        "Part two\n--------\n\nend\n"
    )
    [doc] = load_file(write(tmp_path, "a.rst", text), "a.rst")
    assert_well_formed(doc)
    assert [p for p, _ in paths_and_text(doc)] == [
        ("Title",),
        ("Title", "Part one"),
        ("Title", "Part one", "Detail"),
        ("Title", "Part two"),
    ]
    assert doc.text[doc.sections[0].start :].startswith("=====\nTitle")


def test_rst_fixture():
    [doc] = load_file(FIXTURES / "firmware.rst", "firmware.rst")
    signing = dict(paths_and_text(doc))[("Zorblax Firmware", "Signing")]
    assert "amber-falcon" in signing


def test_text_crlf_and_bom_normalised(tmp_path):
    [doc] = load_file(write(tmp_path, "a.txt", b"\xef\xbb\xbfone\r\ntwo\r\n"), "a.txt")
    assert doc.text == "one\ntwo\n"
    assert paths_and_text(doc) == [((), "one\ntwo\n")]


def test_file_without_suffix_is_text(tmp_path):
    [doc] = load_file(write(tmp_path, "README", "read me\n"), "README")
    assert doc.text == "read me\n"


def test_empty_file_gives_no_documents(tmp_path):
    for name in ("empty.txt", "empty.md", "blank.rst", "empty.py", "empty.jsonl"):
        assert load_file(write(tmp_path, name, "" if "empty" in name else "\n \n"), name) == []


def test_bad_utf8_names_file_line_and_fix():
    with pytest.raises(LoadError) as err:
        load_file(FIXTURES / "broken.txt", "docs/broken.txt")
    message = str(err.value)
    assert message.startswith("docs/broken.txt: not valid UTF-8 at line 2 (byte 34)")
    assert "UTF-8" in message and "\n" not in message


def test_python_top_level_definitions_give_sections():
    [doc] = load_file(FIXTURES / "zorblax_client.py", "zorblax_client.py")
    assert_well_formed(doc)
    parts = paths_and_text(doc)
    assert [p for p, _ in parts] == [(), ("def connect",), ("class Widget",)]
    assert parts[1][1].startswith("def connect(")
    assert "def __init__" in parts[2][1]  # methods stay inside their class


@pytest.mark.parametrize("name", ["main.go", "lib.RS", "app.tsx", "settings.yaml", "query.sql", "paper.tex"])
def test_other_code_is_one_section(tmp_path, name):
    text = "func main() {}\n"
    [doc] = load_file(write(tmp_path, name, text), name)
    assert paths_and_text(doc) == [((), text)]


def test_too_big_file_is_skipped(tmp_path):
    from index.loaders import UnsupportedFile

    path = write(tmp_path, "big.txt", "x" * 100)
    with pytest.raises(UnsupportedFile):
        load_file(path, "big.txt", LoaderOptions(max_file_bytes=10))


def test_markdown_heading_edge_cases(tmp_path):
    text = "# C# tips ##\n\n```\ncode\n```\n---\n\n- item\n---\n\nPlain\n---\n"
    [doc] = load_file(write(tmp_path, "a.md", text), "a.md")
    assert [p for p, _ in paths_and_text(doc)] == [("C# tips",), ("C# tips", "Plain")]


def test_file_without_suffix_that_is_not_utf8_is_skipped(tmp_path):
    from index.loaders import UnsupportedFile

    with pytest.raises(UnsupportedFile):
        load_file(write(tmp_path, "blob", b"\xff\xfe\xfa odd bytes"), "blob")


def test_empty_pdf_or_docx_gives_no_documents(tmp_path):
    assert load_file(write(tmp_path, "empty.pdf", b""), "empty.pdf") == []
    assert load_file(write(tmp_path, "empty.docx", b""), "empty.docx") == []
