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
