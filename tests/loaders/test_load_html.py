"""HTML: the main text, block by block, without markup or page furniture."""

from pathlib import Path

from index.loaders import load_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "docs_mixed"


def load_html(tmp_path: Path, html: str):
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    [doc] = load_file(path, "page.html")
    return doc


def test_fixture_drops_script_style_nav_footer_and_keeps_headings():
    [doc] = load_file(FIXTURES / "faq.html", "faq.html")
    assert doc.title == "Zorblax 3000 FAQ"
    assert "do-not-index" not in doc.text and "font-family" not in doc.text
    assert "Home" not in doc.text and "Copyright" not in doc.text
    assert "<" not in doc.text
    assert "One Zorblax 3000 drives up to 64 widgets on a single bus." in doc.text
    sections = {s.title_path: doc.text[s.start : s.end] for s in doc.sections}
    power = ("Frequently asked questions", "What power supply does it need?")
    assert "24 V DC" in sections[power]


def test_blocks_are_separate_paragraphs(tmp_path):
    doc = load_html(tmp_path, "<body><p>one\n  two</p><ul><li>three</li><li>four</li></ul></body>")
    assert doc.text == "one two\n\nthree\n\nfour"


def test_prefers_main_or_article(tmp_path):
    doc = load_html(
        tmp_path,
        "<body><div>sidebar junk</div><article><h1>Post</h1><p>body text</p></article></body>",
    )
    assert "sidebar" not in doc.text
    assert [s.title_path for s in doc.sections] == [("Post",)]


def test_text_directly_inside_divs_is_kept(tmp_path):
    doc = load_html(tmp_path, "<body><div>loose text</div><p>a paragraph</p><div><span>more</span></div></body>")
    assert "loose text" in doc.text and "a paragraph" in doc.text and "more" in doc.text


def test_pre_keeps_line_breaks(tmp_path):
    doc = load_html(tmp_path, "<body><h1>Code</h1><pre>line 1\n  line 2</pre></body>")
    assert "line 1\n  line 2" in doc.text


def test_a_table_row_reads_on_its_own_with_its_column_names(tmp_path):
    doc = load_html(tmp_path, "<body><p>Limits:</p><table><caption>Per diem</caption>"
                              "<tr><th>Country</th><th>Per diem</th><th>Hotel</th></tr>"
                              "<tr><td>Germany</td><td>€62</td><td>€140</td></tr>"
                              "<tr><td>Japan</td><td>€74</td><td></td></tr></table><p>After.</p></body>")
    assert doc.text.split("\n\n") == ["Limits:", "Per diem", "Country: Germany; Per diem: €62; Hotel: €140",
                                      "Country: Japan; Per diem: €74", "After."]


def test_a_table_without_header_cells_joins_each_row(tmp_path):
    doc = load_html(tmp_path, "<body><table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table></body>")
    assert doc.text.split("\n\n") == ["a | b", "c | d"]
