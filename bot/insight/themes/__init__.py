"""Comment themes: named themes matched on word forms, score/words disagreement, proposed themes.

Nothing heavy is imported here: simplemma, jieba and scikit-learn load on first use, in the
thread that uses them (a worker thread via asyncio.to_thread), so start-up stays fast.
"""

from bot.insight.themes.matching import ENGINE_VERSION, ThemeBook
from bot.insight.themes.proposing import Proposal, propose
from bot.insight.themes.sentiment import disagrees, polarity

__all__ = ["ENGINE_VERSION", "Proposal", "ThemeBook", "disagrees", "polarity", "propose"]
