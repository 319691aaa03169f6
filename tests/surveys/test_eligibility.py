"""Eligibility: sampling is stable per trigger and close to the rate; which skip reason wins."""

from __future__ import annotations

from surveys.eligibility import SAMPLED_OUT, decide, sampled_in


def test_sampling_is_stable_per_trigger_and_close_to_the_rate() -> None:
    keys = [f"survey\x1fkey\x1fticket-{n}" for n in range(10_000)]
    first = [sampled_in(0.3, k) for k in keys]
    assert first == [sampled_in(0.3, k) for k in keys]  # a replay decides the same
    assert 0.28 < sum(first) / len(keys) < 0.32
    assert all(sampled_in(1.0, k) for k in keys[:100]) and not any(
        sampled_in(0.0, k) for k in keys[:100]
    )


def test_sampled_out_is_the_weakest_reason() -> None:
    assert decide(opted_out=False, surveyed_in_window=False, sampled=False).reason == SAMPLED_OUT
    assert decide(opted_out=False, surveyed_in_window=True, sampled=False).reason == "throttled"
    assert decide(opted_out=True, surveyed_in_window=True, sampled=False).reason == "opted_out"
