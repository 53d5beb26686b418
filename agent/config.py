"""All configuration in one place, read from the environment (and a ``.env`` file).

Every setting is documented in ``.env.example`` and read here, by pydantic-settings, from the
variable named in its ``validation_alias``; nothing else in the package reads
``os.environ`` for configuration. ``Settings(...)`` takes only the values it is given (so
tests build one explicitly, whatever the machine's environment holds);
``Settings.from_env(...)`` adds the environment and ``./.env`` under the values given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from causal_assistant.tools.errors import InputError

STRUCTURED_METHODS = ("json_schema", "function_calling", "json_mode")
_TRUE = ("1", "true", "yes", "on")


def _env(name: str) -> Any:
    """The field reads environment variable ``name`` (and still accepts its own name)."""
    return {"validation_alias": name}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        populate_by_name=True,
        env_ignore_empty=True,  # VAR= in .env means "use the default", as documented there
        extra="ignore",
    )

    home: Path = Field(
        default_factory=lambda: Path.home() / ".causal-assistant", **_env("CAUSAL_ASSISTANT_HOME")
    )
    llm_mode: str = Field("auto", **_env("CAUSAL_ASSISTANT_LLM"))
    api_key: str | None = Field(None, **_env("OPENAI_API_KEY"))
    base_url: str | None = Field(None, **_env("OPENAI_BASE_URL"))
    model: str = Field("gpt-4o-mini", **_env("CAUSAL_ASSISTANT_MODEL"))
    structured_methods: Annotated[tuple[str, ...], NoDecode] = Field(
        STRUCTURED_METHODS, **_env("CAUSAL_ASSISTANT_STRUCTURED_OUTPUT")
    )
    llm_timeout_s: float = Field(60.0, **_env("CAUSAL_ASSISTANT_LLM_TIMEOUT"))
    llm_retries: int = 2
    send_rows: bool = Field(False, **_env("CAUSAL_ASSISTANT_SEND_ROWS"))
    max_upload_mb: int = Field(200, **_env("CAUSAL_ASSISTANT_MAX_UPLOAD_MB"))
    max_columns: int = Field(300, **_env("CAUSAL_ASSISTANT_MAX_COLUMNS"))
    max_cells: int = Field(30_000_000, **_env("CAUSAL_ASSISTANT_MAX_CELLS"))
    max_model_variables: int = Field(100, **_env("CAUSAL_ASSISTANT_MAX_MODEL_VARIABLES"))
    sandbox_seconds: float = Field(30.0, **_env("CAUSAL_ASSISTANT_SANDBOX_SECONDS"))
    sandbox_memory_mb: int = Field(1024, **_env("CAUSAL_ASSISTANT_SANDBOX_MEMORY_MB"))
    # per simulation refuter, before the size rule
    refutation_simulations: int = Field(100, **_env("CAUSAL_ASSISTANT_REFUTATION_SIMULATIONS"))
    # advisory: the plan suggests fewer above it
    refutation_budget_s: float = Field(30.0, **_env("CAUSAL_ASSISTANT_REFUTATION_BUDGET"))
    # On a shared (password) deployment users' code shares the server's kernel and CPU with
    # everyone, so it is off unless explicitly allowed (see _user_code_default).
    user_code: bool = Field(True, **_env("CAUSAL_ASSISTANT_USER_CODE"))
    # --- the chat app's deployment (ui/): login, users, origins, history
    auth_secret: str | None = Field(None, **_env("CHAINLIT_AUTH_SECRET"))
    users: str | None = Field(None, **_env("CAUSAL_ASSISTANT_USERS"))
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), **_env("CAUSAL_ASSISTANT_ALLOWED_ORIGINS")
    )
    database_url: str | None = Field(None, **_env("DATABASE_URL"))
    extra: dict[str, Any] = {}

    @field_validator("llm_mode", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("send_rows", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        """Anything but 1/true/yes/on is off, as the variables were always read."""
        return value.strip().lower() in _TRUE if isinstance(value, str) else value

    @field_validator("user_code", mode="before")
    @classmethod
    def _optional_flag(cls, value: object) -> object:
        if isinstance(value, str):
            return None if not value.strip() else value.strip().lower() in _TRUE
        return value

    @field_validator("structured_methods", mode="before")
    @classmethod
    def _methods(cls, value: object) -> object:
        """Comma-separated; unknown names are dropped, and none left means all of them."""
        if isinstance(value, str):
            value = [m.strip() for m in value.split(",")]
        if isinstance(value, (list, tuple)):
            return tuple(m for m in value if m in STRUCTURED_METHODS) or STRUCTURED_METHODS
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(o.strip() for o in value.split(",") if o.strip())
        return value

    @model_validator(mode="before")
    @classmethod
    def _user_code_default(cls, values: Any) -> Any:
        """Users' own code: on by default, off by default behind a login."""
        if not isinstance(values, dict):
            return values
        keys = {"user_code": "CAUSAL_ASSISTANT_USER_CODE", "auth_secret": "CHAINLIT_AUTH_SECRET"}
        given = {k: values.get(k, values.get(alias)) for k, alias in keys.items()}
        code = cls._optional_flag(given["user_code"])
        if code is None:
            key = "user_code" if "user_code" in values else "CAUSAL_ASSISTANT_USER_CODE"
            return {**values, key: not given["auth_secret"]}
        return values

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: the environment is read by ``from_env`` alone."""
        return (init_settings,)

    @property
    def use_llm(self) -> bool:
        """The LLM is used only when allowed and an endpoint is configured."""
        return self.llm_mode != "off" and bool(self.api_key or self.base_url)

    @property
    def login(self) -> bool:
        """The chat app asks for a password (and may serve beyond this machine)."""
        return bool(self.auth_secret)

    @property
    def checkpoint_path(self) -> Path:
        return self.home / "checkpoints.sqlite"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """The settings the environment and ``./.env`` give, under ``overrides``. The file is
        loaded into the environment (variables already set win), not only read, because
        Chainlit reads its own (CHAINLIT_AUTH_SECRET) from there."""
        _load_dotenv()
        fields = cls.model_fields
        try:
            return _FromEnvironment(
                **{
                    str(fields[k].validation_alias or k) if k in fields else k: v
                    for k, v in overrides.items()
                }
            )
        except ValidationError as exc:  # one line the user can act on, not pydantic's report
            error = exc.errors()[0]
            raise InputError(
                f"{error['loc'][0]}={error.get('input')!r} is not valid ({error['msg']}); "
                "fix it in the environment or in .env."
            ) from None


class _FromEnvironment(Settings):
    """``Settings`` that also read the environment (below explicit values), each field from
    its own variable only: matching by field name would read ``HOME`` into ``home``."""

    model_config = SettingsConfigDict(populate_by_name=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def _load_dotenv() -> None:
    """Read ``./.env`` if present without overriding variables already set."""
    from dotenv import load_dotenv

    load_dotenv(Path.cwd() / ".env", override=False)
