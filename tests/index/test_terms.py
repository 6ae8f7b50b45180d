import pytest

from index.terms import Terms, cjk_bigrams


def test_english_words_are_lowercased_stemmed_and_stopworded():
    assert Terms().split("The Indexing of Documents") == ["index", "document"]


def test_stemming_and_stopwords_can_be_turned_off():
    assert Terms(stemming=False, stopwords=False).split("The Indexing") == ["the", "indexing"]


def test_cjk_runs_become_bigrams_and_mix_with_english():
    terms = Terms().split("使用RAG检索文档")
    assert "rag" in terms
    assert {"检索", "索文", "文档"} <= set(terms)


def test_cjk_bigrams_of_short_runs():
    assert cjk_bigrams("中") == ["中"]
    assert cjk_bigrams("中文") == ["中文"]


def test_query_and_document_terms_meet_for_chinese():
    doc, query = Terms().split("向量数据库支持混合检索"), Terms().split("混合检索")
    assert set(query) <= set(doc)


def test_punctuation_and_underscores_split_words():
    assert Terms(stemming=False).split("foo_bar, baz-qux!") == ["foo", "bar", "baz", "qux"]


def test_unigram_and_bigram_terms_keep_single_characters_too():
    assert Terms(cjk="unigram+bigram").split("检索增强") == ["检", "索", "增", "强", "检索", "索增", "增强"]
    assert Terms(cjk="unigram+bigram").split("用") == ["用"]


def test_an_unknown_cjk_split_is_refused():
    with pytest.raises(ValueError, match="bigram"):
        Terms(cjk="jieba")


def test_mixed_chinese_and_english_keep_english_words_whole_and_stemmed():
    terms = Terms().split("先用pip install安装依赖，再运行`python -m venv .venv`。")
    assert {"pip", "instal", "python", "venv"} <= set(terms)
    assert {"安装", "依赖", "运行"} <= set(terms)
    assert "，" not in "".join(terms) and "。" not in "".join(terms)


def test_full_width_letters_and_digits_match_ascii():
    assert Terms().split("ＤＯＣＫＥＲ容器的８０８０端口") == Terms().split("Docker容器的8080端口")


def test_traditional_characters_are_split_like_simplified():
    assert Terms().split("資料庫備份") == ["資料", "料庫", "庫備", "備份"]


def test_rare_han_characters_and_japanese_kana_are_cjk():
    assert Terms().split("𠮷野家") == ["𠮷野", "野家"]
    assert Terms().split("テキスト") == ["テキ", "キス", "スト"]


def test_query_terms_meet_document_terms_in_mixed_text():
    doc = Terms(cjk="unigram+bigram").split("用 docker system prune 清理未使用的镜像")
    query = Terms(cjk="unigram+bigram").split("Docker 怎么清理镜像？")
    assert {"docker", "清理", "镜像"} <= set(query) & set(doc)
