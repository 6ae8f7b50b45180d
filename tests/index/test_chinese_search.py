"""End to end on Chinese: documents of bench/data/zh-tech indexed with the real embedded MiniLM and
searched in the default hybrid mode, beside an English document."""

import dataclasses
import shutil

import pytest

from bench.zh_testset import FOLDER
from index.build import build_collection
from index.config import CJK_SPLITS, IndexConfig
from core.errors import ConfigError
from index.retriever import Retriever
from index.store import Collection
from index.terms import CJK_SPLITS as TERM_SPLITS

pytestmark = pytest.mark.slow
DOCS = ("docker.md", "git.md", "ssh.md", "redis.md", "mysql-zh-hant.md")
ENGLISH = "# Cleaning up\n\nRemove unused container images with a prune command to free disk space.\n"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    root = tmp_path_factory.mktemp("zh")
    docs = root / "docs"
    docs.mkdir()
    for name in DOCS:
        shutil.copy(FOLDER / "docs" / name, docs / name)
    (docs / "cleanup.md").write_text(ENGLISH, encoding="utf-8")
    collection = Collection(root / "project", "zh")
    build_collection([docs], collection)
    return Retriever.open(collection)


@pytest.mark.parametrize("question, file, passage", [
    ("Docker 占用的磁盘越来越多，怎么删掉没用的镜像？", "docker.md", "docker system prune"),
    ("已经推到远程的错误提交怎样安全地撤回", "git.md", "git revert"),
    ("公钥拷到服务器了，登录还是要输密码", "ssh.md", "authorized_keys"),
    ("不小心刪掉了資料，怎樣恢復到誤刪之前？", "mysql-zh-hant.md", "mysqlbinlog"),
])
def test_a_chinese_question_finds_its_passage_first(retriever, question, file, passage):
    top = retriever.search(question, k=3)
    assert top[0].chunk.source.endswith(file) and passage in top[0].chunk.text, [h.chunk.text[:30] for h in top]


def test_the_dense_ranking_of_a_question_minilm_cannot_read_is_left_out(retriever):
    chinese = retriever.search("主库挂了以后怎样自动切换", k=5)
    assert chinese and all(set(h.ranks) == {"bm25"} for h in chinese)
    english = retriever.search("how do I free disk space used by images?", k=5)
    assert any("dense" in h.ranks for h in english)
    assert english[0].chunk.source.endswith("cleanup.md")


def test_the_cjk_split_is_recorded_and_older_collections_are_read_with_bigrams(retriever):
    assert retriever.manifest.sparse["cjk"] == IndexConfig().cjk == "unigram+bigram"
    assert retriever.terms.cjk == "unigram+bigram"
    sparse = {k: v for k, v in retriever.manifest.sparse.items() if k != "cjk"}
    settings = {**retriever.manifest.index_settings, "sparse": sparse}
    older = dataclasses.replace(retriever.manifest, index_settings=settings)
    again = Retriever(retriever.collection, older, retriever.chunks, retriever.sparse, retriever.dense)
    assert again.terms.cjk == "bigram"


def test_the_cjk_setting_names_the_splits_terms_offers():
    assert set(CJK_SPLITS) == set(TERM_SPLITS)
    with pytest.raises(ConfigError, match="cjk"):
        IndexConfig(cjk="jieba")
