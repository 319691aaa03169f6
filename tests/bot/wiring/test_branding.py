"""Branding: the settings that name and colour an instance, and the web chat page carrying them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.wiring.branding import Brand, contrast, text_on
from surveys.texts import builtin
from tests.bot.cli.cli_env import invoke
from tests.conftest import FakeClock, app_client, make_settings

SURVEY = {"key": "support-csat", "metric": "csat", "question": "How did we do?"}
NAME = 'Acme <b>"Help"</b> & Co'
NAME_HTML = "Acme &lt;b&gt;&quot;Help&quot;&lt;/b&gt; &amp; Co"


@pytest.mark.parametrize("color", ["red", "#fff", "#12345g", "1a56db", "#1a56db;}", "#1a56dbff"])
def test_a_colour_that_is_not_rrggbb_is_refused_naming_the_setting(color: str) -> None:
    with pytest.raises(ValidationError, match="brand_color") as caught:
        make_settings("sqlite:///unused.db", brand_color=color)
    assert "#rrggbb" in str(caught.value)


def test_the_cli_refuses_a_bad_colour_in_one_sentence() -> None:
    env = {"SURVEYBOT_DATABASE_URL": "sqlite:///unused.db", "SURVEYBOT_BRAND_COLOR": "blue"}
    code, out, err = invoke(env, "report", "--survey", "x")
    assert code == 1 and out == ""
    assert "SURVEYBOT_BRAND_COLOR" in err and "#rrggbb" in err
    assert len(err.strip().splitlines()) == 1


def test_the_name_and_colour_are_tidied_and_bad_names_refused() -> None:
    settings = make_settings("sqlite:///unused.db", brand_name="  Acme  ", brand_color=" #1A56DB ")
    assert (settings.brand_name, settings.brand_color) == ("Acme", "#1a56db")
    blank = make_settings("sqlite:///unused.db", brand_name=" ", brand_color="")
    assert (blank.brand_name, blank.brand_color) == (None, None)
    for name in ("Acme\nBcc: x@example.com", "A" * 81):
        with pytest.raises(ValidationError, match="brand_name"):
            make_settings("sqlite:///unused.db", brand_name=name)


def test_text_on_the_accent_is_whichever_reads_better() -> None:
    assert text_on("#ffcc00") == "#1b1f24"  # yellow: dark text
    assert text_on("#1a56db") == "#ffffff"  # blue: white text
    assert round(contrast("#ffffff", "#000000"), 1) == 21.0
    # The worst case (a mid tone, equally far from both) still reads at 4:1.
    assert all(contrast(c, text_on(c)) >= 4 for c in ("#777777", "#808080", "#00ff00", "#e0457b"))


def test_an_unset_brand_keeps_the_localised_title_and_adds_no_css() -> None:
    assert Brand().title("zh") == builtin("ui.title", "zh") != "Quick survey"
    assert Brand().title("en") == "Quick survey"
    assert Brand(name="Acme").title("zh") == "Acme"
    assert Brand().css() == ""


async def test_the_chat_page_carries_the_brand_escaped(sqlite_url: str, clock: FakeClock) -> None:
    settings = make_settings(sqlite_url, brand_name=NAME, brand_color="#ffcc00")
    async with app_client(settings, clock) as (client, _):
        assert (await client.post("/api/v1/surveys", json=SURVEY)).status_code == 201
        trigger = await client.post(
            "/api/v1/triggers", json={"survey": "support-csat", "contact": {"external_id": "c"}}
        )
        token = trigger.json()["link"].rsplit("/", 1)[1]
        page = await client.get(f"/s/{token}")
        assert page.status_code == 200
        assert f"<title>{NAME_HTML}</title>" in page.text
        assert f'<h1 id="title">{NAME_HTML}</h1>' in page.text
        assert "<b>" not in page.text and "Quick survey" not in page.text
        state = (await client.get(f"/s/{token}/state")).json()
        assert state["ui"]["title"] == NAME  # the page's script sets it as text
        answered = await client.post(
            f"/s/{token}/messages", json={"text": "4", "client_message_id": "m1"}
        )
        assert answered.json()["ui"]["title"] == NAME
        css = await client.get("/s/static/chat.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        rule = "--accent: #ffcc00; --accent-fg: #1b1f24; --in-bg: #ffcc00; --in-fg: #1b1f24;"
        assert rule in css.text
        assert css.text.rindex("prefers-color-scheme: dark") < css.text.index(rule)


async def test_an_unbranded_chat_page_is_titled_quick_survey(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with app_client(make_settings(sqlite_url), clock) as (client, _):
        page = await client.get("/s/not-a-token")
        assert "<title>Quick survey</title>" in page.text
        css = await client.get("/s/static/chat.css")
        assert "SURVEYBOT_BRAND_COLOR" not in css.text
