"""Schemathesis against a real `surveybot serve` on PostgreSQL: no server error, the schema true.

The run is bounded (a fixed number of cases per operation, a fixed seed, a time limit) so that CI
stays short; what it found on its last run is printed with `pytest -s`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import create_pg_database, drop_pg_database
from tests.e2e.conftest import running_server

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
SURVEYS = """\
surveys:
  - key: support-csat
    metric: csat
    reasons: [Slow reply, Not solved]
  - key: nps
    metric: nps
"""
# What "the schema tells the truth" means here, beside "no 5xx".
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "allow_header_conformance",
        "unsupported_method",
    ]
)
CASES_PER_OPERATION = 12
TIME_LIMIT_SECONDS = 240

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> object:
    name, url = asyncio.run(create_pg_database())
    yield url
    asyncio.run(drop_pg_database(name))


def test_fuzzing_the_api_finds_no_server_error_and_no_schema_lie(
    tmp_path: Path, pg_url: str
) -> None:
    settings = {
        "SURVEYBOT_DATABASE_URL": pg_url,
        "SURVEYBOT_SECRET_KEY": "fuzz-secret-key-0123456789",
        "SURVEYBOT_WEBHOOK_SECRETS": json.dumps({"helpdesk": "helpdesk-secret-0123456789"}),
        "SURVEYBOT_ZENDESK_WEBHOOK_SECRET": "zendesk-secret-0123456789",
        "SURVEYBOT_HELPDESK_SURVEY": "support-csat",
    }
    with running_server(tmp_path, settings) as server:
        key = server.load_and_key(SURVEYS, tmp_path)
        report = tmp_path / "report.json"
        run = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                CHECKS,
                "--max-examples",
                str(CASES_PER_OPERATION),
                "--seed",
                "20261202",
                "--workers",
                "2",
                "--no-color",
                "--generation-database",
                "none",
                "--report",
                "json",
                "--report-json-path",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT_SECONDS + 60,
            check=False,
            cwd=tmp_path,
        )
        assert report.exists(), run.stdout[-3000:] + run.stderr[-2000:]
        summary = json.loads(report.read_text())
        operations, cases = summary["operations"], summary["test_cases"]
        print(
            f"\nschemathesis: {operations['tested']} operations, {cases['generated']} cases, "
            f"{cases['unique_failures']} unique failures, {len(summary['errors'])} errors "
            f"in {summary['running_time']:.0f} s"
        )
        assert operations["tested"] == operations["total"] >= 30
        assert cases["generated"] >= 10 * operations["tested"]
        assert run.returncode == 0 and cases["unique_failures"] == 0, run.stdout[-6000:]
        assert summary["errors"] == [], summary["errors"]
