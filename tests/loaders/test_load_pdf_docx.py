"""PDF (one section per page) and DOCX (heading styles → sections), built inside the tests."""

from pathlib import Path

import pytest

from index.loaders import load_file
from index.types import LoadError

from builders import minimal_pdf


def test_pdf_pages_become_sections(tmp_path):
    path = tmp_path / "manual.pdf"
    path.write_bytes(minimal_pdf(["Zorblax default port 7431", "", "Signed with amber-falcon"]))
    [doc] = load_file(path, "manual.pdf")
    sections = {s.title_path: doc.text[s.start : s.end] for s in doc.sections}
    assert sections == {("page 1",): "Zorblax default port 7431", ("page 3",): "Signed with amber-falcon"}


def test_pdf_without_text_layer_says_to_run_ocr(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(minimal_pdf(["", ""]))
    with pytest.raises(LoadError, match=r"^scan\.pdf: .*no text layer.*OCR"):
        load_file(path, "scan.pdf")


def test_corrupt_pdf_names_the_file(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    with pytest.raises(LoadError, match=r"^docs/broken\.pdf: "):
        load_file(path, "docs/broken.pdf")


def test_encrypted_pdf_names_the_file(tmp_path):
    from pypdf import PdfReader, PdfWriter

    source = tmp_path / "plain.pdf"
    source.write_bytes(minimal_pdf(["secret"]))
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password="pw", algorithm="RC4-40")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(LoadError, match=r"^locked\.pdf: .*encrypted"):
        load_file(path, "locked.pdf")


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Zorblax 3000 Manual", style="Title")
    document.add_paragraph("An introduction.")
    document.add_heading("Setup", level=1)
    document.add_paragraph("Plug it in.")
    document.add_heading("Ports", level=2)
    document.add_paragraph("The default port is 7431.")
    document.add_heading("Support", level=1)
    document.add_paragraph("Call us.")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Model", "Port"), ("3000", "7431")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    document.save(path)


def test_docx_headings_and_tables(tmp_path):
    path = tmp_path / "manual.docx"
    make_docx(path)
    [doc] = load_file(path, "manual.docx")
    sections = {s.title_path: doc.text[s.start : s.end] for s in doc.sections}
    ports = next(text for p, text in sections.items() if p[-2:] == ("Setup", "Ports"))
    assert "The default port is 7431." in ports
    assert "Model | Port" in doc.text and "3000 | 7431" in doc.text
    assert doc.text.index("Call us.") < doc.text.index("Model | Port")


def test_corrupt_docx_names_the_file(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    with pytest.raises(LoadError, match=r"^broken\.docx: "):
        load_file(path, "broken.docx")


def test_docx_zip_without_document_names_the_file(tmp_path):
    import zipfile

    path = tmp_path / "empty.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    with pytest.raises(LoadError, match=r"^empty\.docx: "):
        load_file(path, "empty.docx")


def test_docx_with_broken_xml_names_the_file(tmp_path):
    import zipfile

    make_docx(tmp_path / "ok.docx")
    path = tmp_path / "cut.docx"
    with zipfile.ZipFile(tmp_path / "ok.docx") as original, zipfile.ZipFile(path, "w") as archive:
        for item in original.infolist():
            data = original.read(item.filename)
            archive.writestr(item, data[: len(data) // 2] if item.filename == "word/document.xml" else data)
    with pytest.raises(LoadError, match=r"^cut\.docx: "):
        load_file(path, "cut.docx")
