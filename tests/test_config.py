"""Settings: every variable read in one place, by its documented name only."""

import pytest

from causal_assistant.agent.config import STRUCTURED_METHODS, Settings
from causal_assistant.tools.errors import InputError


def test_explicit_settings_ignore_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "from-the-environment")
    monkeypatch.setenv("CAUSAL_ASSISTANT_MAX_CELLS", "5")
    settings = Settings(home=tmp_path)
    assert settings.api_key is None and settings.max_cells == 30_000_000
    assert not settings.use_llm and settings.user_code


def test_from_env_reads_documented_names_and_treats_empty_as_default(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("HOME", str(tmp_path / "not-the-setting"))
    monkeypatch.setenv("MODEL", "read-by-field-name")
    monkeypatch.setenv("CAUSAL_ASSISTANT_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("CAUSAL_ASSISTANT_MAX_CELLS", "")
    monkeypatch.setenv("CAUSAL_ASSISTANT_LLM", "OFF")
    monkeypatch.setenv("CAUSAL_ASSISTANT_SEND_ROWS", "off")
    monkeypatch.setenv("CAUSAL_ASSISTANT_STRUCTURED_OUTPUT", "json_mode, nonsense")
    monkeypatch.setenv("CAUSAL_ASSISTANT_ALLOWED_ORIGINS", "https://causal.example.org, ")
    settings = Settings.from_env(max_columns=7)
    assert settings.home == tmp_path / "state" and settings.model == "gpt-4o-mini"
    assert settings.max_cells == 30_000_000 and settings.max_columns == 7
    assert settings.llm_mode == "off" and not settings.send_rows
    assert settings.structured_methods == ("json_mode",)
    assert settings.allowed_origins == ("https://causal.example.org",)
    monkeypatch.setenv("CAUSAL_ASSISTANT_STRUCTURED_OUTPUT", "nonsense")
    assert Settings.from_env().structured_methods == STRUCTURED_METHODS


def test_login_turns_user_code_off_unless_allowed(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "secret")
    monkeypatch.setenv("CAUSAL_ASSISTANT_USERS", "ann:pw")
    settings = Settings.from_env()
    assert settings.login and settings.users == "ann:pw" and not settings.user_code
    monkeypatch.setenv("CAUSAL_ASSISTANT_USER_CODE", "yes")
    assert Settings.from_env().user_code
    assert Settings(auth_secret="secret").user_code is False


def test_dotenv_is_read_below_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CAUSAL_ASSISTANT_MAX_COLUMNS=11\nCAUSAL_ASSISTANT_MODEL=m1\n")
    monkeypatch.setenv("CAUSAL_ASSISTANT_MODEL", "m2")
    monkeypatch.delenv("CAUSAL_ASSISTANT_MAX_COLUMNS", raising=False)
    settings = Settings.from_env()
    assert settings.max_columns == 11 and settings.model == "m2"


def test_a_value_that_does_not_parse_is_one_line_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAUSAL_ASSISTANT_MAX_CELLS", "lots")
    with pytest.raises(InputError) as refused:
        Settings.from_env()
    assert "CAUSAL_ASSISTANT_MAX_CELLS='lots'" in str(refused.value)
    assert "\n" not in str(refused.value)
