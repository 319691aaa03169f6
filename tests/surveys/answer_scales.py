"""The scales and problem codes the answer-parser tests share."""

from __future__ import annotations

NPS = (0, 10)
CSAT = (1, 5)
CES = (1, 7)
TEN = (1, 10)
PROBLEMS = ("empty", "no_score", "out_of_range", "ambiguous")
