from pathlib import Path

import pytest

from assistant.config import Config, ConfigError, load_config, override


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    config = load_config()
    assert config == Config()
    assert config.index.chunk_tokens == 200 and config.retrieval.mode == "hybrid"


def test_working_directory_file_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "assistant.toml").write_text(
        'project_dir = "data"\n[index]\nchunk_tokens = 128\n[retrieval]\nk = 3\nfusion = "weighted"\n')
    config = load_config()
    assert config.project_dir == tmp_path / "data"
    assert config.index.chunk_tokens == 128
    assert (config.retrieval.k, config.retrieval.fusion) == (3, "weighted")


def test_user_config_dir_is_the_fallback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "assistant").mkdir(parents=True)
    (tmp_path / "xdg" / "assistant" / "assistant.toml").write_text("[retrieval]\nmode = 'bm25'\n")
    assert load_config().retrieval.mode == "bm25"


@pytest.mark.parametrize("body, words", [
    ("[index]\nchunk_size = 3\n", ["unknown key", "chunk_size", "chunk_tokens"]),
    ("[retrieval]\nmode = 'magic'\n", ["mode must be one of", "hybrid"]),
    ("[index\n", ["invalid TOML"]),
    ("colour = 'red'\n", ["unknown key 'colour'"]),
])
def test_bad_files_name_the_file_and_the_key(tmp_path, body, words):
    path = tmp_path / "assistant.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_flags_override_only_what_was_given():
    config = Config()
    changed = override(config.retrieval, k=5, mode=None)
    assert (changed.k, changed.mode) == (5, "hybrid")
    with pytest.raises(ConfigError):
        override(config.index, chunk_overlap=10_000)


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(Path(tmp_path / "nope.toml"))
