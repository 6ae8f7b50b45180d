import pytest

from index.embedder import load_tokenizer
from index.readable import embedder_reads, unknown_share


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("all-MiniLM-L6-v2")


def test_english_is_read_and_chinese_mostly_is_not(tokenizer):
    assert unknown_share(tokenizer, "How do I rotate the API key?") == 0.0
    assert embedder_reads(tokenizer, "How do I rotate the API key?")
    assert unknown_share(tokenizer, "服务器没有网络，怎样安装依赖包？") > 0.7
    assert not embedder_reads(tokenizer, "服务器没有网络，怎样安装依赖包？")


def test_punctuation_does_not_count_and_english_terms_do(tokenizer):
    assert unknown_share(tokenizer, "？！，。") == 0.0
    mostly_english = "how do I follow the docker logs of a 容器?"
    assert embedder_reads(tokenizer, mostly_english)


def test_a_tokenizer_without_an_unknown_token_reads_everything():
    class ByteLevel:
        unk_token_id = None

    assert unknown_share(ByteLevel(), "服务器没有网络") == 0.0
