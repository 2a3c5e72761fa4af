"""Settings (env prefix ``LEXIQUERY_``). Build them with `get_settings()`; there is no global."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "lexiquery"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEXIQUERY_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir,
                           description="Where journeys, answers and imported catalogs are stored.")
    sql_dialect: str = Field(default="postgres", description="Default SQL dialect for SQL queries.")
    max_question_chars: int = Field(default=2000, ge=10,
                                    description="Longer questions are refused with a clear error.")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "lexiquery.db"

    @property
    def catalog_dir(self) -> Path:
        return self.data_dir / "catalogs"


def get_settings(**overrides: object) -> Settings:
    """Fresh settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
