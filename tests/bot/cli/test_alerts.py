"""`surveybot alerts add|list|remove`, as an operator runs them; bad input in one sentence."""

from __future__ import annotations

import json

from tests.bot.cli.cli_env import invoke

MAIL = {
    "SURVEYBOT_SMTP_HOST": "127.0.0.1",
    "SURVEYBOT_SMTP_PORT": "2525",
    "SURVEYBOT_SMTP_TLS": "none",
    "SURVEYBOT_SMTP_FROM": "surveys@example.com",
}


def test_add_list_remove(loaded: dict[str, str]) -> None:
    env = {**loaded, **MAIL}
    code, out, err = invoke(
        env, "alerts", "add", "relationship-nps", "--score-max", "6",
        "--filter", "property.plan=pro", "--email", "lead@example.com",
    )  # fmt: skip
    assert code == 0, err
    assert out.strip() == "alert rule 1: relationship-nps, score ≤ 6, plan = pro → lead@example.com"
    code, out, err = invoke(env, "alerts", "list", "--json")
    (rule,) = json.loads(out)
    assert rule["filters"] == {"property.plan": "pro"} and rule["emails"] == ["lead@example.com"]
    code, out, _ = invoke(env, "alerts", "list")
    assert code == 0 and any(line.startswith("│ 1  │ relations") for line in out.splitlines())
    code, out, err = invoke(env, "alerts", "remove", "1")
    assert code == 0 and "removed alert rule 1" in out, err
    code, _, err = invoke(env, "alerts", "remove", "1")
    assert code == 1 and "alert rule 1 does not exist" in err


def test_a_rule_can_post_to_a_webhook_subscription(loaded: dict[str, str]) -> None:
    code, out, err = invoke(loaded, "webhooks", "add", "http://127.0.0.1:9/hook")
    assert code == 0, err
    hook_id = out.split()[1]
    code, out, err = invoke(
        loaded, "alerts", "add", "support-csat", "--score-max", "2", "--webhook", hook_id
    )
    assert code == 0, err
    assert out.strip() == f"alert rule 1: support-csat, score ≤ 2 → webhook {hook_id}"


def test_bad_rules_are_refused_in_one_sentence(loaded: dict[str, str]) -> None:
    env = {**loaded, **MAIL}
    email = ["--email", "lead@example.com"]
    for args, words in [
        (["nope", "--score-max", "2", *email], "SURVEY: survey 'nope' does not exist"),
        (["support-csat", "--score-max", "9", *email],
         "--score-max: score_max must be a whole number on the survey's scale 1-5"),
        (["support-csat", "--score-max", "low", *email], "--score-max: 'low' is not a whole number"),
        (["support-csat", "--score-max", "2", "--email", "nobody"],
         "--email: 'nobody' is not an email address"),
        (["support-csat", "--score-max", "2", "--webhook", "wh_nope"],
         "--webhook: webhook 'wh_nope' does not exist"),
        (["support-csat", "--score-max", "2"], "--email: say where to send the alert"),
        (["support-csat", "--score-max", "2", "--filter", "plan", *email], "write NAME=VALUE"),
        (["support-csat", "--score-max", "2", "--filter", "survey=x", *email],
         "--filter survey: unknown filter 'survey'"),
    ]:  # fmt: skip
        code, _, err = invoke(env, "alerts", "add", *args)
        assert code == 1, args
        assert words in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    code, _, err = invoke(loaded, "alerts", "add", "support-csat", "--score-max", "2", *email)
    assert code == 1 and "--email: email alerts need the SMTP settings" in err
    code, out, _ = invoke(env, "alerts", "list", "--json")
    assert json.loads(out) == []
