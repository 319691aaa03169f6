"""The dashboard's pages rendered from hand-built values: numbers, escaping, sorting, the form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.errors import Unprocessable
from bot.http.dashboard_pages import (
    render_filters_error,
    render_invitation,
    render_survey,
    sort_segments,
)
from bot.insight.dashboard_model import (
    CommentRow,
    Dashboard,
    DistributionBar,
    FunnelStep,
    Headline,
    SegmentRow,
    ThemeRow,
    TrendPoint,
)
from bot.insight.filters import Filters
from bot.invitations.timeline import Event, InvitationDetail
from storage.models import Invitation

TODAY = date(2026, 11, 2)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Node:
    """An element of a parsed page (a small DOM: tag, attributes, children, text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        return " ".join(self.text().split())

    def walk(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def all(self, tag: str | None = None, **attrs: str | None) -> list[Node]:
        """Descendants with this tag and attributes (`data_metric="score"`; None: present)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag)
            and all(k in n.attrs and (v is None or n.attrs[k] == v) for k, v in wanted.items())
        ]

    def one(self, tag: str | None = None, **attrs: str | None) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def value(node: Node, metric: str) -> tuple[str, str]:
    """(the text shown, the raw data-value) of the one element with this data-metric."""
    found = node.one(data_metric=metric)
    return found.words(), found.attrs["data-value"]


def headline(**changes: object) -> Headline:
    base = Headline(
        metric="csat",
        label="CSAT",
        unit="%",
        score=83.33333333333333,
        interval=(79.12345, 87.04999),
        interval_method="wilson",
        responses=1240,
        small_sample=False,
        average=4.2125,
        previous_score=80.0,
        previous_period=(datetime(2026, 9, 3, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC)),
        change=3.3333333333333286,
        p_value=0.0312,
        significant=True,
        test="two-proportion z-test",
        sent=2500,
        answered=1050,
        response_rate=0.42,
        more_needed=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def segment(value: str | None, n: int, score: float | None, rate: float | None = None,
            change: float | None = None) -> SegmentRow:  # fmt: skip
    low = None if score is None else score - 5
    high = None if score is None else score + 5
    return SegmentRow("agent", value, n, score, low, high, n < 30, rate, change, False)


def dashboard(**changes: object) -> Dashboard:
    base = Dashboard(
        survey="support-csat",
        surveys=("onboarding-nps", "support-csat"),
        metric="csat",
        filters=Filters(
            since=datetime(2026, 10, 4, tzinfo=UTC),
            until=datetime(2026, 11, 3, tzinfo=UTC),
            channels=("sms",),
        ),
        granularity="week",
        headline=headline(),
        trend=(
            TrendPoint("2026-W43", date(2026, 10, 19), 81.0, 75.0, 86.0, 400, False),
            TrendPoint("2026-W44", date(2026, 10, 26), None, None, None, 0, False),
            TrendPoint("2026-W45", date(2026, 11, 2), 85.5, 70.0, 94.0, 12, True),
        ),
        distribution=(
            DistributionBar(1, 40, "negative"),
            DistributionBar(3, 60, "neutral"),
            DistributionBar(5, 900, "positive"),
        ),
        funnel=(
            FunnelStep("triggered", "Triggered", 3000),
            FunnelStep("skipped", "Skipped", 500, (("throttled", 500),)),
            FunnelStep("sent", "Sent", 2500),
            FunnelStep("answered", "Answered", 1050),
        ),
        themes=(ThemeRow("slow reply", 120, 0.3, {"negative": 100}, -4.25, 100, 20),),
        comments=(
            CommentRow(
                "inv-1",
                datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
                1,
                "negative",
                "Three days for an answer",
                ("slow reply",),
                False,
                "sms",
                "cust-1",
                (("ticket", "T-1001"), ("agent", "Ana")),
            ),
            CommentRow(
                None,
                datetime(2026, 10, 30, tzinfo=UTC),
                2,
                "negative",
                "meh",
                (),
                True,
                "import",
                "cust-2",
            ),
        ),
        segment_fields=("agent", "channel", "plan"),
        segment_field="agent",
        segments=(
            segment("Ana", 600, 88.0, 0.5, 2.5),
            segment("Bob", 12, 70.0, None, -8.0),
            segment(None, 628, 80.0, 0.4, None),
        ),
        channels=("sms", "web", "import"),
        properties=("agent", "plan"),
        generated_at=datetime(2026, 11, 2, 12, tzinfo=UTC),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


PARAMS = {"channel": ["sms"], "property.plan": ["pro"]}


def page(board: Dashboard | None = None, params: dict[str, list[str]] | None = None,
         **kwargs: str | None) -> Node:  # fmt: skip
    html = render_survey(
        board or dashboard(), params if params is not None else PARAMS, today=TODAY, csrf="tok",
        **kwargs,
    )  # fmt: skip
    assert "<script" not in html and " style=" not in html  # the CSP allows neither
    return parse(html)


def test_headline_numbers_are_formatted_one_way_and_carried_raw() -> None:
    top = page().one("section", id="headline")
    assert value(top, "score") == ("83.3 %", "83.33333333333333")
    assert value(top, "interval-low") == ("79.1", "79.12345")
    assert value(top, "interval-high") == ("87.0", "87.04999")
    assert value(top, "responses") == ("1,240", "1240")
    assert value(top, "average") == ("4.21", "4.2125")
    assert value(top, "change") == ("+3.3", "3.3333333333333286")
    assert value(top, "previous-score") == ("80.0 %", "80.0")
    assert value(top, "p-value") == ("p = 0.031", "0.0312")
    assert value(top, "significant") == ("Significant change", "true")
    assert top.one(data_metric="significant").attrs["title"] == "two-proportion z-test, p = 0.031"
    assert value(top, "response-rate") == ("42.0 %", "0.42")
    assert value(top, "answered") == ("1,050", "1050")
    assert value(top, "sent") == ("2,500", "2500")
    assert "Wilson score interval" in top.words()
    assert not top.all(data_testid="small-sample")


def test_a_change_that_could_be_chance_and_a_small_sample_say_so() -> None:
    board = dashboard(
        headline=headline(significant=False, p_value=0.0004, small_sample=True, more_needed=310,
                          responses=21, sent=0, answered=0, response_rate=None)
    )  # fmt: skip
    top = page(board).one("section", id="headline")
    assert value(top, "significant") == ("Not significant: could be chance", "false")
    assert value(top, "p-value") == ("p < 0.001", "0.0004")
    assert "fewer than 30 responses" in top.one(data_testid="small-sample").words()
    assert value(top, "more-needed") == ("310", "310")
    assert value(top, "response-rate") == ("—", "")
    assert "No invitation was sent in this period" in top.words()


def test_nps_is_written_in_points_with_its_own_axis() -> None:
    board = dashboard(
        metric="nps",
        headline=headline(metric="nps", label="NPS", unit="points", score=-12.5, interval=(-30.0, 5.0),
                          previous_score=-20.0, change=7.5, interval_method="adjusted-wald"),
    )  # fmt: skip
    root = page(board)
    top = root.one("section", id="headline")
    assert value(top, "score") == ("−12.5", "-12.5")
    assert value(top, "previous-score") == ("−20.0", "-20.0")
    assert "Adjusted Wald interval" in top.words()
    ticks = [t.text() for t in root.one("figure", id="trend").all("text", **{"class": "tick"})]
    assert ticks == ["−100", "−50", "0", "+50", "+100"]


def test_no_previous_score_means_no_change_shown() -> None:
    board = dashboard(headline=headline(change=None, previous_score=None, p_value=None,
                                        significant=False, test=None))  # fmt: skip
    top = page(board).one("section", id="headline")
    assert value(top, "change") == ("—", "") and not top.all(data_metric="p-value")
    assert "No score in the previous period (2026-09-03 – 2026-10-02)" in top.words()


def test_trend_distribution_funnel_and_themes_carry_their_values() -> None:
    root = page()
    rows = root.one("table", id="trend-table").all("tr", data_period=None)
    assert [r.attrs["data-period"] for r in rows] == ["2026-W43", "2026-W44", "2026-W45"]
    assert value(rows[0], "score") == ("81.0 %", "81.0")
    assert value(rows[1], "score") == ("—", "")
    assert "small" in rows[2].attrs.get("class", "") and "small" in rows[2].words()
    points = root.one("figure", id="trend").all("circle", data_period=None)
    assert [(p.attrs["data-period"], p.attrs["fill"]) for p in points] == [
        ("2026-W43", "#0b5cad"), ("2026-W45", "#ffffff")  # the small sample is hollow
    ]  # fmt: skip
    bars = root.one("figure", id="distribution").all("rect", data_score=None)
    assert [(b.attrs["data-score"], b.attrs["data-value"]) for b in bars] == [
        ("1", "40"), ("3", "60"), ("5", "900")
    ]  # fmt: skip
    steps = root.one("figure", id="funnel").all("rect", data_step=None)
    assert [s.attrs["data-step"] for s in steps] == [
        "Triggered", "Skipped", "throttled", "Sent", "Answered"
    ]  # fmt: skip
    theme = root.one("table", id="themes-table").one("tr", data_theme="slow reply")
    assert value(theme, "theme-responses") == ("120", "120")
    assert value(theme, "theme-share") == ("30.0 %", "0.3")
    assert value(theme, "theme-impact") == ("−4.2", "-4.25")
    assert value(theme, "theme-change") == ("+20", "20")


def test_user_text_is_escaped_everywhere() -> None:
    evil = '<img src=x onerror="alert(1)">"\''
    board = dashboard(
        survey=evil,
        surveys=(evil, "b"),
        comments=(
            CommentRow(
                "inv-<1>",
                datetime(2026, 11, 1, tzinfo=UTC),
                1,
                "negative",
                f"<script>alert(1)</script>{evil}",
                (evil,),
                False,
                "sms",
                evil,
                (("ticket", evil),),
            ),
        ),
        themes=(ThemeRow(evil, 3, 0.1, {}, -1.0, 1, 2),),
        segments=(segment(evil, 40, 50.0),),
        channels=(evil,),
        properties=(evil,),
    )
    root = page(board, {"property.plan": [evil], "channel": [evil]})
    assert not root.all("img") and not root.all("script")
    assert not [n for n in root.walk() if any(k.startswith("on") for k in n.attrs)]
    assert root.one("h1").words().startswith(evil)
    comment = root.one("li", data_comment="1")
    assert f"<script>alert(1)</script>{evil}" == comment.one("blockquote").text()
    assert evil in comment.one("dl").words()
    link = comment.one("a", **{"class": "timeline-link"}).attrs["href"]
    assert link.startswith("/dashboard/invitations/inv-%3C1%3E?back=")
    assert root.one("tr", data_segment=evil)
    assert root.one("input", name="property.plan").attrs["value"] == evil
    assert root.one("input", name="channel", value=evil).attrs.get("checked") == ""
    assert len(root.all("rect", data_theme=evil)) == 2  # by volume and by pull
    assert root.one("form", data_testid="filters").attrs["action"] == (
        "/dashboard/surveys/%3Cimg%20src%3Dx%20onerror%3D%22alert%281%29%22%3E%22%27"
    )


def test_segment_rows_sort_by_links_that_keep_the_filters() -> None:
    root = page(sort="score", order="asc")
    table = root.one("table", id="segments")
    rows = table.all("tr", data_segment=None)
    assert [r.attrs["data-segment"] for r in rows] == ["Bob", "", "Ana"]
    assert value(rows[2], "score") == ("88.0 %", "88.0")
    assert value(rows[2], "interval-low") == ("83.0", "83.0")
    assert value(rows[2], "response-rate") == ("50.0 %", "0.5")
    assert value(rows[2], "change") == ("+2.5", "2.5")
    assert value(rows[0], "response-rate") == ("—", "")
    links = {a.attrs["data-sort"]: a.attrs["href"] for a in table.all("a", data_sort=None)}
    score = parse_qs(urlsplit(links["score"]).query)
    assert score == {"channel": ["sms"], "property.plan": ["pro"], "sort": ["score"],
                     "order": ["desc"]}  # fmt: skip
    assert parse_qs(urlsplit(links["value"]).query)["order"] == ["asc"]
    assert parse_qs(urlsplit(links["responses"]).query)["order"] == ["desc"]
    header = table.one("th", aria_sort="ascending")
    assert header.one("a").attrs["data-sort"] == "score"
    # Rows without a value stay last, whichever the order.
    changes = [r.attrs["data-segment"] for r in page(sort="change").all("tr", data_segment=None)]
    assert changes == ["Ana", "Bob", ""]
    by_name = page(sort="value", order="desc").all("tr", data_segment=None)
    assert [r.attrs["data-segment"] for r in by_name] == ["Bob", "Ana", ""]


def test_small_groups_are_marked_in_the_segment_table() -> None:
    rows = page().one("table", id="segments").all("tr", data_segment=None)
    marked = {r.attrs["data-segment"]: "small-sample" in r.attrs.get("class", "") for r in rows}
    assert marked == {"Ana": False, "Bob": True, "": False}
    assert rows[1].one("span", **{"class": "badge"}).words() == "small"
    assert rows[2].one("th").words() == "(none)"


@pytest.mark.parametrize(
    ("sort", "order", "field"), [("name", None, "sort"), ("score", "up", "order")]
)
def test_a_bad_sort_is_refused_naming_it(sort: str, order: str | None, field: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        sort_segments(dashboard().segments, sort, order)
    assert refused.value.field == field


def test_an_empty_period_renders_honestly() -> None:
    board = dashboard(
        headline=headline(score=None, interval=None, responses=0, small_sample=True, average=None,
                          change=None, previous_score=None, p_value=None, test=None,
                          significant=False, sent=0, answered=0, response_rate=None),
        trend=(TrendPoint("2026-W45", date(2026, 11, 2), None, None, None, 0, False),),
        distribution=(), funnel=(FunnelStep("triggered", "Triggered", 0),), themes=(),
        comments=(), segments=(),
    )  # fmt: skip
    root = page(board)
    assert value(root.one("section", id="headline"), "score") == ("—", "")
    for figure in ("trend", "distribution"):
        assert "No responses in this period" in root.one("figure", id=figure).words()
    assert "No invitations in this period" in root.one("figure", id="funnel").words()
    assert "No low-score comments in this period" in root.one(id="comments").words()
    assert "No responses to break down" in root.one(id="segments-card").words()


def test_comments_show_their_context_and_link_to_the_timeline() -> None:
    root = page()
    first, second = root.one(id="comments").all("li", data_comment=None)
    assert value(first, "comment-score") == ("1", "1")
    assert "ticket T-1001" in first.one("dl").words() and "agent Ana" in first.one("dl").words()
    assert "sms · cust-1" in first.one("p", **{"class": "meta"}).words()
    href = first.one("a", **{"class": "timeline-link"}).attrs["href"]
    target = urlsplit(href)
    assert target.path == "/dashboard/invitations/inv-1"
    back = parse_qs(target.query)["back"][0]
    assert back == "/dashboard/surveys/support-csat?channel=sms&property.plan=pro"
    assert not second.all("a", **{"class": "timeline-link"})  # imported: no invitation
    assert "score and words disagree" in second.words()


def test_the_filter_form_keeps_the_url_and_offers_quick_periods() -> None:
    params = {"channel": ["sms"], "property.plan": ["pro"], "band": ["negative"],
              "sort": ["score"], "from": ["2026-10-27"], "to": ["2026-11-02"]}  # fmt: skip
    form = page(params=params).one("form", data_testid="filters")
    assert form.attrs["method"] == "get"
    assert form.one("input", name="from").attrs["value"] == "2026-10-27"
    checked = [i.attrs["value"] for i in form.all("input", name="channel") if "checked" in i.attrs]
    assert checked == ["sms"]
    hidden = {i.attrs["name"]: i.attrs["value"] for i in form.all("input", type="hidden")}
    assert hidden == {"property.plan": "pro", "band": "negative", "sort": "score"}
    names = [o.attrs["value"] for o in form.one("select", name="property_name").all("option")]
    assert names == ["", "agent", "plan"]
    assert form.one("select", name="segment").one("option", selected="").words() == "agent"
    assert "auto (week)" in form.one("select", name="granularity").words()
    quick = {a.words(): a for a in form.one("p", **{"class": "quick"}).all("a")}
    assert list(quick) == ["Last 7 days", "Last 30 days", "Last 90 days", "This quarter"]
    seven = parse_qs(urlsplit(quick["Last 7 days"].attrs["href"]).query)
    assert (seven["from"], seven["to"], seven["channel"]) == (
        ["2026-10-27"],
        ["2026-11-02"],
        ["sms"],
    )
    assert quick["Last 7 days"].attrs.get("aria-current") == "true"
    quarter = parse_qs(urlsplit(quick["This quarter"].attrs["href"]).query)
    assert quarter["from"] == ["2026-10-01"]
    chips = {a.words(): a.attrs["href"] for a in form.all("a", **{"class": "chip"})}
    assert set(chips) == {"plan = pro ×", "band = negative ×"}
    assert "property.plan" not in parse_qs(urlsplit(chips["plan = pro ×"]).query)


@pytest.mark.parametrize(
    ("field", "slot"),
    [("from", "from"), ("to", "to"), ("channel", "channel"), ("property.plan", "property"),
     ("property_value", "property"), ("segment", "segment"), ("granularity", "granularity"),
     ("sort", "segments"), ("band", "general"), (None, "general")],
)  # fmt: skip
def test_a_refused_filter_is_explained_beside_its_field(field: str | None, slot: str) -> None:
    error = Unprocessable("that <value> is wrong", field=field)
    html = render_filters_error(
        "support-csat", {"from": ["yesterday"], "segment": ["agnet"]}, error, today=TODAY,
        channels=("sms",), properties=("plan",),
        segment_fields=("agent", "channel"), csrf="tok",
    )  # fmt: skip
    root = parse(html)
    (shown,) = root.all(data_error_for=None)
    assert (shown.attrs["data-error-for"], shown.words()) == (slot, "that <value> is wrong")
    form = root.one("form", data_testid="filters")
    assert form.one("input", name="from").attrs == {"name": "from", "type": "text",
                                                   "value": "yesterday"} | (
        {"aria-invalid": "true"} if slot == "from" else {}
    )  # fmt: skip
    options = [o.attrs["value"] for o in form.one("select", name="segment").all("option")]
    assert options == ["agent", "channel", "agnet"]  # what was sent stays selectable


def test_the_invitation_page_lists_its_timeline_with_a_way_back() -> None:
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    row = Invitation(
        id="inv-1", survey_id=1, contact_id=1, channel="web", status="done", send_at=at,
        created_at=at, updated_at=at, properties={"ticket": "<T-1>"},
    )  # fmt: skip
    detail = InvitationDetail(
        invitation=row, survey="support-csat", contact="cust-<1>", campaign=None,
        timeline=[Event(at, "created", "on web"), Event(at, "received", "<b>2</b>"),
                  Event(at, "answered", "score 2")],
    )  # fmt: skip
    root = parse(render_invitation(detail, back="/dashboard/surveys/support-csat?channel=web",
                                   csrf="tok"))  # fmt: skip
    assert root.one("a", data_testid="back").attrs["href"] == (
        "/dashboard/surveys/support-csat?channel=web"
    )
    events = root.one("ol").all("li", data_event=None)
    assert [e.attrs["data-event"] for e in events] == ["created", "received", "answered"]
    assert events[1].words() == "2026-11-01 09:00 UTC received <b>2</b>" and not root.all("b")
    assert "cust-<1>" in root.one("dl").words() and "<T-1>" in root.one("dl").words()
    signout = root.one("form", action="/dashboard/signout")
    assert signout.one("input", name="csrf").attrs["value"] == "tok"


def test_the_invitation_page_shows_its_fallback_order_and_where_each_event_was() -> None:
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    row = Invitation(
        id="inv-2", survey_id=1, contact_id=1, channel="sms", status="sent", send_at=at,
        created_at=at, updated_at=at, channels=["telegram", "sms"],
    )  # fmt: skip
    detail = InvitationDetail(
        invitation=row, survey="support-csat", contact="cust-2", campaign=None,
        timeline=[Event(at, "created", "on telegram"),
                  Event(at, "channel_failed", "refused (403): blocked", "telegram"),
                  Event(at, "sent", "How did we do?", "sms")],
    )  # fmt: skip
    root = parse(render_invitation(detail, back="/dashboard", csrf="tok"))
    assert root.one("dd", data_testid="order").words() == "telegram → sms"
    events = root.one("ol").all("li", data_event=None)
    assert [e.words() for e in events][1:] == [
        "2026-11-01 09:00 UTC channel_failed telegram refused (403): blocked",
        "2026-11-01 09:00 UTC sent sms How did we do?",
    ]
