"""`surveybot webhooks add|list|test|remove`, as an operator runs them, against a loopback receiver."""

from __future__ import annotations

import json

from tests.bot.cli.cli_env import invoke
from tests.standins.receiver import Receiver


def test_add_list_test_remove(env: dict[str, str]) -> None:
    with Receiver(secret="cli-secret-0123456789").in_thread() as receiver:
        code, out, err = invoke(
            env, "webhooks", "add", receiver.url, "--event", "response.created",
            "--filter", "score_max=6", "--filter", "survey=support-csat",
            "--secret", "cli-secret-0123456789",
        )  # fmt: skip
        assert code == 0, err
        hook_id = out.split()[1]
        assert hook_id.startswith("wh_") and "signing secret (shown once): cli-secret" in out
        code, out, _ = invoke(env, "webhooks", "list", "--json")
        (listed,) = json.loads(out)
        assert listed["filters"] == {"score_max": 6, "survey": "support-csat"}
        assert "secret" not in listed
        code, out, err = invoke(env, "webhooks", "test", hook_id)
        assert code == 0, err
        assert "delivered: the endpoint answered 200" in out
        (got,) = receiver.received
        assert got.verified and got.json["type"] == "webhook.test"
        receiver.default = 503
        code, _, err = invoke(env, "webhooks", "test", hook_id)
        assert code == 1 and "not delivered: HTTP 503" in err
    code, out, err = invoke(env, "webhooks", "remove", hook_id)
    assert code == 0 and "removed webhook" in out, err
    code, _, err = invoke(env, "webhooks", "remove", hook_id)
    assert code == 1 and "does not exist" in err


def test_bad_subscriptions_are_refused_in_one_sentence(env: dict[str, str]) -> None:
    for args, words in [
        (["ftp://x.test"], "URL: url must be an http:// or https:// address"),
        (["http://x.test", "--event", "response.deleted"], "--event: unknown event type"),
        (["http://x.test", "--filter", "score_max"], "write NAME=VALUE"),
        (["http://x.test", "--filter", "colour=red"], "--filter colour: unknown filter"),
        (["http://x.test", "--secret", "short"], "--secret: secret must be 16-255 characters"),
    ]:
        code, _, err = invoke(env, "webhooks", "add", *args)
        assert code == 1, args
        assert words in err, (args, err)
    code, out, _ = invoke(env, "webhooks", "list", "--json")
    assert json.loads(out) == []
