"""Proposed themes for comments no named theme covers: clusters labelled by their own words."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.insight.themes.language import guess_language
from bot.insight.themes.text import CHINESE, language_of, stop_words, words

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

RANDOM_STATE = 0
MAX_WORDS = 8
MAX_EXAMPLES = 3
MIN_MEMBERS = 3
"""A cluster smaller than this is noise, not a theme to propose."""


@dataclass(frozen=True)
class Proposal:
    """A proposed theme: its label, its characteristic words, its comments and a few examples."""

    label: str
    words: tuple[str, ...]
    members: tuple[int, ...]
    examples: tuple[str, ...]


def propose(
    comments: Sequence[tuple[str, str | None]], *, max_themes: int = 8, min_comments: int = 25
) -> list[Proposal]:
    """Cluster (text, locale) comments into at most `max_themes` proposed themes, largest first.

    TF-IDF of the comments' lemmas (stop words out), factorised by NMF; each comment joins the
    component it weighs most on, each cluster is labelled by its class-based TF-IDF words and
    shows the comments that weigh most on it. Below `min_comments` (25 by default) there is too
    little to go on and nothing is proposed. Deterministic for the same input. Comments in
    different languages share few words, so they mostly fall into different clusters.
    """
    if len(comments) < max(min_comments, 2) or max_themes < 1:
        return []
    documents = [content_words(text, locale) for text, locale in comments]
    matrix, vocabulary = _tf_idf(documents)
    if matrix is None:
        return []
    count = _themes_for(len(comments), max_themes)
    weights = _factorise(matrix, count)
    return _proposals(comments, documents, weights, vocabulary)


def content_words(text: str, locale: str | None) -> list[tuple[str, str]]:
    """A comment's words worth clustering on: (lemma, as written), stop words and numbers out."""
    language = language_of(locale) or guess_language(text)
    if language is None:
        return []
    stops = stop_words(language)
    kept = []
    for word in words(text, language, guess_chinese=True):
        if word.lemma in stops or word.surface in stops or word.surface.isdigit():
            continue
        if language != CHINESE and len(word.surface) < 2:
            continue
        kept.append((word.lemma, word.written))
    return kept


def _themes_for(comments: int, max_themes: int) -> int:
    """How many clusters to look for: about √(n/2), at least 2, at most max_themes."""
    return max(1, min(max_themes, max(2, round(math.sqrt(comments / 2)))))


def _tf_idf(documents: list[list[tuple[str, str]]]) -> tuple[csr_matrix | None, list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Words in a single comment cannot bring two comments together.
    vectorizer = TfidfVectorizer(
        analyzer=lambda document: [lemma for lemma, _ in document], min_df=2, sublinear_tf=True
    )
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # no word occurs twice
        return None, []
    return matrix, list(vectorizer.get_feature_names_out())


def _factorise(matrix: csr_matrix, count: int) -> Any:
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    count = min(count, *matrix.shape)
    model = NMF(n_components=count, init="nndsvd", random_state=RANDOM_STATE, max_iter=500)
    with warnings.catch_warnings():
        # Short comments make a sparse, noisy matrix that NMF may not settle on within its
        # iterations; the factors are still the same for the same input and serve for clusters.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit_transform(matrix)


def _proposals(
    comments: Sequence[tuple[str, str | None]],
    documents: list[list[tuple[str, str]]],
    weights: Any,
    vocabulary: list[str],
) -> list[Proposal]:
    clusters: dict[int, list[int]] = {}
    for index, row in enumerate(weights):
        if row.max() > 0:
            clusters.setdefault(int(row.argmax()), []).append(index)
    kept = {c: members for c, members in clusters.items() if len(members) >= MIN_MEMBERS}
    known = set(vocabulary)
    counts = {
        c: Counter(lemma for i in members for lemma, _ in documents[i] if lemma in known)
        for c, members in kept.items()
    }
    written: dict[str, Counter[str]] = {}
    for document in documents:
        for lemma, surface in document:
            written.setdefault(lemma, Counter())[surface] += 1
    scores = _class_tf_idf(counts)
    proposals = []
    for c, members in kept.items():
        ranked = sorted(scores[c].items(), key=lambda item: (-item[1], item[0]))[:MAX_WORDS]
        # Shown as most often written ("waited", "rápido"), not as the folded lemma.
        shown = tuple(written[lemma].most_common(1)[0][0] for lemma, _ in ranked)
        shown = tuple(dict.fromkeys(shown))
        if len(shown) < 2:  # one word shared by a few comments is no theme to name
            continue
        best = sorted(members, key=lambda i: (-weights[i, c], i))
        examples = tuple(dict.fromkeys(comments[i][0] for i in best))[:MAX_EXAMPLES]
        label = " / ".join(shown[:3])
        proposals.append(Proposal(label, shown, tuple(members), examples))
    proposals.sort(key=lambda p: (-len(p.members), p.label))
    return proposals


def _class_tf_idf(counts: dict[int, Counter[str]]) -> dict[int, dict[str, float]]:
    """Each word's weight in each cluster: its frequency there × log(1 + A / its total count).

    A is the average number of words per cluster, so a word common everywhere ranks low and a
    word frequent in one cluster and rare elsewhere ranks high (class-based TF-IDF).
    """
    totals: Counter[str] = Counter()
    for counter in counts.values():
        totals.update(counter)
    sizes = {c: sum(counter.values()) for c, counter in counts.items()}
    average = sum(sizes.values()) / max(1, len(sizes))
    return {
        c: {
            word: (n / sizes[c]) * math.log(1 + average / totals[word])
            for word, n in counter.items()
        }
        for c, counter in counts.items()
    }
