"""Proposed themes: clusters of comments labelled by their own words, deterministically."""

from __future__ import annotations

from bot.insight.themes import propose

DELIVERY = [
    "The delivery was late again",
    "My parcel delivery arrived three days late",
    "Late delivery, the courier never showed up",
    "Delivery took ages, the parcel was late",
    "Courier lost my parcel, delivery failed",
    "The parcel delivery was late and the courier was lost",
    "Late parcel again, delivery is unreliable",
    "Delivery slot missed, courier came late",
    "Why is every delivery late? Parcel still not here",
    "The courier left the parcel outside, delivery late too",
]
PASSWORD = [
    "I cannot reset my password",
    "Password reset email never arrives, cannot log in",
    "Login fails after the password reset",
    "Locked out of my account, password reset broken",
    "The password reset link expired before I could log in",
    "Cannot log in, the password is rejected",
    "Password reset loop, login impossible",
    "Login page says my password is wrong after reset",
    "Forgot my password and the reset email is missing",
    "Two factor login and password reset both fail",
]
PRICE = [
    "The monthly price is too high",
    "Price went up again, too expensive",
    "Too expensive compared to the old price",
    "Expensive subscription, the price doubled",
    "The price increase makes it too expensive for us",
    "Price is high for such a basic plan",
    "Expensive plan, I will cancel if the price rises",
    "The yearly price is expensive",
    "Good product but the price is too high",
    "Price hike again, really expensive now",
]
COMMENTS = [(text, "en") for group in (DELIVERY, PASSWORD, PRICE) for text in group]


def test_clear_clusters_come_out_labelled_by_their_words() -> None:
    proposals = propose(COMMENTS)
    groups = {"delivery": range(0, 10), "password": range(10, 20), "price": range(20, 30)}
    for word, indices in groups.items():
        labelled = [p for p in proposals if word in p.label.split(" / ")]
        assert labelled, [p.label for p in proposals]
        members = {m for p in labelled for m in p.members}
        assert len(members & set(indices)) >= 8
        assert len(members - set(indices)) <= 1
    for proposal in proposals:
        assert 2 <= len(proposal.label.split(" / ")) <= 3
        assert proposal.label.split(" / ") == list(proposal.words[:3])
        assert len(proposal.words) <= 8
        assert 1 <= len(proposal.examples) <= 3
        assert set(proposal.examples) <= {COMMENTS[i][0] for i in proposal.members}
    assert sum(len(p.members) for p in proposals) <= len(COMMENTS)


def test_proposals_are_the_same_every_time() -> None:
    assert propose(COMMENTS) == propose(list(COMMENTS))


def test_too_few_comments_propose_nothing() -> None:
    assert propose(COMMENTS[:24]) == []
    assert propose(COMMENTS[:24], min_comments=20) != []


def test_at_most_max_themes_are_proposed() -> None:
    assert len(propose(COMMENTS, max_themes=2)) <= 2
    assert propose(COMMENTS, max_themes=0) == []


def test_comments_in_other_languages_are_read_in_their_own() -> None:
    finnish = [
        (f"Toimitus myöhästyi {n}. kerran, paketti tuli myöhässä", "fi") for n in range(10)
    ] + [(f"Hinta nousi taas, liian kallis {n}", "fi") for n in range(10)]
    chinese = [(f"快递又迟到了，包裹{n}天才到", "zh") for n in range(5)] + [
        (f"价格太贵了，又涨价{n}次", "zh") for n in range(5)
    ]
    proposals = propose(finnish + chinese)
    words = {w for p in proposals for w in p.words}
    assert {"toimitus", "hinta"} <= words or {"toimitus", "kallis"} <= words
    assert words & {"快递", "包裹", "迟到"} and words & {"价格", "涨价"}
