"""All configuration in one place, read from the environment (and a ``.env`` file).

Every setting is documented in ``.env.example``; nothing else in the package reads
``os.environ`` for configuration, so tests can build a ``Settings`` explicitly.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

STRUCTURED_METHODS = ("json_schema", "function_calling", "json_mode")


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    home: Path
    llm_mode: str = "auto"
    api_key: str | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    structured_methods: tuple[str, ...] = STRUCTURED_METHODS
    llm_timeout_s: float = 60.0
    llm_retries: int = 2
    send_rows: bool = False
    max_upload_mb: int = 200
    sandbox_seconds: float = 30.0
    sandbox_memory_mb: int = 1024
    refutation_simulations: int = 100  # per simulation refuter, before the size rule
    refutation_budget_s: float = 30.0  # advisory: the plan suggests fewer above it
    user_code: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def use_llm(self) -> bool:
        """The LLM is used only when allowed and an endpoint is configured."""
        return self.llm_mode != "off" and bool(self.api_key or self.base_url)

    @property
    def checkpoint_path(self) -> Path:
        return self.home / "checkpoints.sqlite"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        _load_dotenv()
        env = os.environ.get
        methods = (
            tuple(
                m.strip()
                for m in env(
                    "CAUSAL_ASSISTANT_STRUCTURED_OUTPUT", ",".join(STRUCTURED_METHODS)
                ).split(",")
                if m.strip() in STRUCTURED_METHODS
            )
            or STRUCTURED_METHODS
        )
        values: dict[str, object] = dict(
            home=Path(env("CAUSAL_ASSISTANT_HOME") or Path.home() / ".causal-assistant"),
            llm_mode=(env("CAUSAL_ASSISTANT_LLM") or "auto").lower(),
            api_key=env("OPENAI_API_KEY") or None,
            base_url=env("OPENAI_BASE_URL") or None,
            model=env("CAUSAL_ASSISTANT_MODEL") or "gpt-4o-mini",
            structured_methods=methods,
            llm_timeout_s=float(env("CAUSAL_ASSISTANT_LLM_TIMEOUT") or 60),
            send_rows=_flag(env("CAUSAL_ASSISTANT_SEND_ROWS")),
            max_upload_mb=int(env("CAUSAL_ASSISTANT_MAX_UPLOAD_MB") or 200),
            sandbox_seconds=float(env("CAUSAL_ASSISTANT_SANDBOX_SECONDS") or 30),
            sandbox_memory_mb=int(env("CAUSAL_ASSISTANT_SANDBOX_MEMORY_MB") or 1024),
            refutation_simulations=int(env("CAUSAL_ASSISTANT_REFUTATION_SIMULATIONS") or 100),
            refutation_budget_s=float(env("CAUSAL_ASSISTANT_REFUTATION_BUDGET") or 30),
            # The sandbox runs as the app's own user, so on a shared (password) deployment
            # users' own code is off unless explicitly allowed.
            user_code=_flag(
                env("CAUSAL_ASSISTANT_USER_CODE"), default=not env("CHAINLIT_AUTH_SECRET")
            ),
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _load_dotenv() -> None:
    """Read ``./.env`` if present without overriding variables already set."""
    try:
        from dotenv import load_dotenv
    except ImportError:
        return
    load_dotenv(Path.cwd() / ".env", override=False)
