"""`surveybot digests add|list|remove|send`, as an operator runs them, against a loopback SMTP
server; bad input in one sentence."""

from __future__ import annotations

import json

from tests.bot.cli.cli_env import invoke
from tests.standins.smtp_server import smtp_standin


def test_add_list_send_remove(loaded: dict[str, str]) -> None:
    with smtp_standin() as smtp:
        env = {**loaded, **smtp.settings()}
        code, out, err = invoke(
            env, "digests", "add", "support-csat", "--every", "daily",
            "--to", "lead@example.com", "--to", "cx@example.com",
            "--at", "07:30", "--timezone", "Europe/Helsinki",
        )  # fmt: skip
        assert code == 0, err
        assert out.startswith(
            "digest 1: support-csat daily at 07:30 Europe/Helsinki → lead@example.com,"
            " cx@example.com; next at "
        )
        code, out, _ = invoke(env, "digests", "list", "--json")
        (digest,) = json.loads(out)
        assert digest["to"] == ["lead@example.com", "cx@example.com"]
        code, out, err = invoke(env, "digests", "send", "1")
        assert code == 0, err
        assert out.startswith("sent digest 1 for ") and out.rstrip().endswith("to 2 addresses")
        mails = smtp.wait_for(2)
        message = mails[0].message()
        assert str(message["Subject"]).startswith("support-csat, ")
        assert message.get_body(("html",)) is not None
        code, out, err = invoke(env, "digests", "remove", "1")
        assert code == 0 and "removed digest 1" in out, err
        code, _, err = invoke(env, "digests", "send", "1")
        assert code == 1 and "digest 1 does not exist" in err


def test_bad_digests_are_refused_in_one_sentence(loaded: dict[str, str]) -> None:
    env = {**loaded, "SURVEYBOT_SMTP_HOST": "127.0.0.1", "SURVEYBOT_SMTP_FROM": "s@example.com"}
    to = ["--to", "lead@example.com"]
    for args, words in [
        (["nope", "--every", "daily", *to], "SURVEY: survey 'nope' does not exist"),
        (["support-csat", "--every", "hourly", *to], "--every: every must be daily or weekly"),
        (["support-csat", "--every", "daily", "--to", "x"], "--to: 'x' is not an email address"),
        (["support-csat", "--every", "daily", "--at", "8", *to], "--at: '8' is not a time of day"),
        (["support-csat", "--every", "daily", "--timezone", "Nowhere", *to],
         "--timezone: timezone 'Nowhere' is not an IANA time zone"),
    ]:  # fmt: skip
        code, _, err = invoke(env, "digests", "add", *args)
        assert code == 1, args
        assert words in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    code, _, err = invoke(loaded, "digests", "add", "support-csat", "--every", "daily", *to)
    assert code == 1 and "--to: digests are mailed: set SURVEYBOT_SMTP_HOST" in err
    code, _, err = invoke(loaded, "digests", "send", "1")
    assert code == 1 and "email is not configured" in err
    code, out, _ = invoke(env, "digests", "list", "--json")
    assert json.loads(out) == []
