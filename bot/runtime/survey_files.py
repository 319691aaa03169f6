"""Survey definitions from YAML files, loaded into the database all or none."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.uow import UnitOfWork
from surveys.definitions import Survey, SurveyFile


class SurveyFileError(Exception):
    """Raised when a survey YAML file cannot be read or does not have the survey shape."""


def read_survey_file(path: Path) -> list[Survey]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SurveyFileError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SurveyFileError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return SurveyFile.model_validate(data).surveys
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SurveyFileError(f"{path}: {problems}") from exc


async def load_surveys(
    sessions: async_sessionmaker[AsyncSession], surveys: list[Survey]
) -> list[tuple[str, bool]]:
    """Create or update surveys in one transaction; returns (key, created) per survey."""
    async with UnitOfWork(sessions) as uow:
        results = []
        for survey in surveys:
            _, created = await uow.surveys.upsert(survey)
            results.append((survey.key, created))
        await uow.commit()
    return results
