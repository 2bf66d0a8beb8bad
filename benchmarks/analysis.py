"""Benchmark of `clamor.analysis` against the tools a user would otherwise reach for.

    python benchmarks/analysis.py [--quick] [--json] [--data-dir ../shared/data]

One table, method × dataset → accuracy, macro-F1, items/s, on the same held-out texts:
- clamor: `analyze()` end to end (language, normalisation, sentiment, category, PII, severity),
  single process, after warm-up; its sentiment is what is scored; and the same through
  `analyze_many` in batches of 256 ("clamor analyze_many": same answers, batch throughput);
- SnowNLP and cnsenti on the Chinese sets, VADER and TextBlob on the airline tweets — imported
  lazily; a missing one is reported as missing, not faked. Install them for the benchmark only:
  `pip install snownlp cnsenti vaderSentiment textblob`.

Besides the table: model load time and resident memory in a fresh process, the peak memory of
the analysis run, language identification (script count vs lingua zh+en), and the
personal-data false-positive rate on order numbers and timestamps in the review data.
`--quick` uses at most 400 texts per set; the full run scores clamor on every held-out text and
the (slow) peers on up to `--peer-limit` (2,000) evenly spaced texts per set; `--json` prints
every figure as one JSON object last.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clamor.analysis.corpora import Labelled, build_zh_corpus  # noqa: E402
from clamor.analysis.evaluate import score  # noqa: E402
from clamor.analysis.recipes import airline_split  # noqa: E402

NEG, NEU, POS = "negative", "neutral", "positive"
Predictor = Callable[[str], str]


# ---- methods ----------------------------------------------------------------------------
def clamor_predictor(binary: bool) -> Predictor:
    from clamor.analysis.pipeline import analyze

    def predict(text: str) -> str:
        result = analyze(text).sentiment
        if binary:
            p = result.probabilities
            return POS if p[POS] >= p[NEG] else NEG
        return result.label

    return predict


def snownlp_predictor(binary: bool) -> Predictor:
    from snownlp import SnowNLP

    def predict(text: str) -> str:
        return POS if SnowNLP(text).sentiments >= 0.5 else NEG

    return predict


def cnsenti_predictor(binary: bool) -> Predictor:
    from cnsenti import Sentiment

    senti = Sentiment()

    def predict(text: str) -> str:
        counts = senti.sentiment_count(text)
        if counts["pos"] == counts["neg"] and not binary:
            return NEU
        return POS if counts["pos"] >= counts["neg"] else NEG

    return predict


def vader_predictor(binary: bool) -> Predictor:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()

    def predict(text: str) -> str:
        compound = analyzer.polarity_scores(text)["compound"]
        if compound >= 0.05:
            return POS
        return NEG if compound <= -0.05 else NEU

    return predict


def textblob_predictor(binary: bool) -> Predictor:
    from textblob import TextBlob

    def predict(text: str) -> str:
        polarity = TextBlob(text).sentiment.polarity
        if polarity > 0:
            return POS
        return NEG if polarity < 0 else NEU

    return predict


METHODS: dict[str, tuple[Callable[[bool], Predictor], str]] = {
    "clamor": (clamor_predictor, "both"),
    "snownlp": (snownlp_predictor, "zh"),
    "cnsenti": (cnsenti_predictor, "zh"),
    "vader": (vader_predictor, "en"),
    "textblob": (textblob_predictor, "en"),
}


# ---- data -------------------------------------------------------------------------------
def datasets(data_dir: Path, limit: int | None) -> dict[str, tuple[Labelled, str, bool]]:
    """name → (held-out texts, language, binary?)."""
    corpus = build_zh_corpus(data_dir)
    _, airline_test, _ = airline_split(data_dir)
    sets: dict[str, tuple[Labelled, str, bool]] = {
        "airline (en, 3-class)": (airline_test, "en", False)
    }
    for name, test in corpus.tests.items():
        sets[f"{name} (zh)"] = (test, "zh", True)
    if limit:
        sets = {k: (_head(v[0], limit), v[1], v[2]) for k, v in sets.items()}
    return sets


def _head(data: Labelled, n: int) -> Labelled:
    # Every k-th row rather than the first n: some files are sorted by label.
    step = max(1, len(data) // n)
    return data.subset(range(0, len(data), step)) if len(data) > n else data


def settle_heap() -> None:
    """Collect, then freeze what is alive (the loaded corpora, models, a peer's dictionaries), as
    `clamor serve` and `clamor worker` do after start-up: long-lived objects are then not
    rescanned by every garbage collection, which otherwise taxes whichever method runs after the
    big corpora were loaded. Applied before every method alike."""
    gc.collect()
    gc.freeze()


def run_method(predict: Predictor, data: Labelled, binary: bool) -> dict[str, float]:
    for text in data.texts[:20]:
        predict(text)  # warm-up: lazy loads, caches
    settle_heap()
    start, cpu_start = time.perf_counter(), time.process_time()
    guesses = [predict(t) for t in data.texts]
    elapsed = time.perf_counter() - start
    cpu = max(time.process_time() - cpu_start, 1e-9)
    labels = [NEG, POS] if binary else [NEG, NEU, POS]
    report = score(data.labels, guesses, labels)
    return {
        "n": len(data),
        "accuracy": round(report.accuracy, 4),
        "macro_f1": round(report.macro_f1, 4),
        # Wall clock, and per CPU-second of this process (the single-core rate even when other
        # work shares the machine).
        "items_per_second": round(len(data) / elapsed, 1),
        "items_per_cpu_second": round(len(data) / cpu, 1),
    }


def run_clamor_batch(data: Labelled, binary: bool, batch: int = 256) -> dict[str, float]:
    """`analyze_many` in batches of `batch` (as the monitoring pipeline and the complaint API
    call it): the same answers as `analyze` one by one, fewer numpy calls per text."""
    from clamor.analysis.pipeline import analyze_many

    def label(result: object) -> str:
        sentiment = result.sentiment  # type: ignore[attr-defined]
        if binary:
            p = sentiment.probabilities
            return POS if p[POS] >= p[NEG] else NEG
        return sentiment.label

    analyze_many(data.texts[:20])  # warm-up
    settle_heap()
    start, cpu_start = time.perf_counter(), time.process_time()
    guesses: list[str] = []
    for i in range(0, len(data.texts), batch):
        guesses += [label(r) for r in analyze_many(data.texts[i : i + batch])]
    elapsed = time.perf_counter() - start
    cpu = max(time.process_time() - cpu_start, 1e-9)
    report = score(data.labels, guesses, [NEG, POS] if binary else [NEG, NEU, POS])
    return {
        "n": len(data),
        "accuracy": round(report.accuracy, 4),
        "macro_f1": round(report.macro_f1, 4),
        "items_per_second": round(len(data) / elapsed, 1),
        "items_per_cpu_second": round(len(data) / cpu, 1),
    }


# ---- side figures -----------------------------------------------------------------------
LOAD_SNIPPET = """
import json, resource, time
start = time.perf_counter()
from clamor.analysis import registry
from clamor.analysis.pipeline import analyze
registry.preload()
analyze("warm up 预热")
seconds = time.perf_counter() - start
# Peak resident memory of this process image. Not ru_maxrss: on Linux it keeps the high-water
# mark from before exec, i.e. the size of the benchmark process this one was forked from.
try:
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    rss = int(status.split()[0]) / 1024
except (OSError, IndexError, ValueError):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"load_seconds": round(seconds, 3), "resident_mb": round(rss, 1)}))
"""


def model_load() -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", LOAD_SNIPPET], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_memory(texts: list[str]) -> float:
    from clamor.analysis.pipeline import analyze

    tracemalloc.start()
    for text in texts:
        analyze(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return round(peak / 2**20, 2)


def language_id(sets: dict[str, tuple[Labelled, str, bool]]) -> dict[str, object]:
    from clamor.analysis.language import detect

    samples = [(t, lang) for data, lang, _ in sets.values() for t in data.texts]
    result: dict[str, object] = {"n": len(samples)}
    start = time.perf_counter()
    right = sum(1 for t, lang in samples if detect(t).code == lang)
    result["script_count"] = {
        "accuracy": round(right / len(samples), 4),
        "items_per_second": round(len(samples) / (time.perf_counter() - start), 1),
    }
    try:
        from lingua import Language, LanguageDetectorBuilder
    except ImportError:
        result["lingua"] = "not installed"
        return result
    detector = LanguageDetectorBuilder.from_languages(Language.CHINESE, Language.ENGLISH).build()
    codes = {Language.CHINESE: "zh", Language.ENGLISH: "en"}
    start = time.perf_counter()
    right = sum(1 for t, lang in samples if codes.get(detector.detect_language_of(t)) == lang)
    result["lingua_zh_en"] = {
        "accuracy": round(right / len(samples), 4),
        "items_per_second": round(len(samples) / (time.perf_counter() - start), 1),
    }
    return result


_NUMBER_RE = re.compile(r"(?<![0-9])[0-9][0-9 \-:/.]{5,}[0-9](?![0-9])")
# The words right before a number that make it an order/waybill/invoice number.
_ORDER_CONTEXT_RE = re.compile(
    r"(订单|单号|运单|快递单|发票号|编号|order|tracking|invoice)\s*(号|号码|no\.?|number)?\s*[:：#]?\s*$",
    re.I,
)
_TIME_RE = re.compile(
    r"^(19|20)[0-9]{2}[-/.年]?[01]?[0-9][-/.月]?[0-3]?[0-9]|^[0-2]?[0-9]:[0-5][0-9]|^1[0-9]{9}$"
)


def pii_false_positives(data_dir: Path) -> dict[str, object]:
    """Number runs (7+ characters) in all review texts that are order numbers or timestamps —
    by the words before them or their shape — and how many of those were reported as personal
    data. Numbers without such a sign are counted apart (many are real phone numbers)."""
    from clamor.analysis.corpora import load_airline, load_zh
    from clamor.analysis.pii import find_pii

    texts: list[str] = []
    for name in ("waimai_10k", "online_shopping_10_cats", "chnsenticorp_htl", "luge_train"):
        texts += load_zh(data_dir, name).texts
    texts += load_airline(data_dir)[0].texts
    runs = flagged = known_non_pii = known_flagged = 0
    for text in texts:
        matches = list(_NUMBER_RE.finditer(text))
        if not matches:
            continue
        spans = find_pii(text)
        for m in matches:
            runs += 1
            hit = any(s.start < m.end() and m.start() < s.end for s in spans)
            flagged += hit
            before = text[max(0, m.start() - 10) : m.start()]
            if _ORDER_CONTEXT_RE.search(before) or _TIME_RE.match(m.group(0)):
                known_non_pii += 1
                known_flagged += hit
    return {
        "texts": len(texts),
        "number_runs": runs,
        "reported_as_pii": flagged,
        "order_numbers_and_timestamps": known_non_pii,
        "of_which_reported": known_flagged,
        "false_positive_rate": round(known_flagged / known_non_pii, 4) if known_non_pii else 0.0,
    }


# ---- main -------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="at most 400 texts per set")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--peer-limit", type=int, default=2000, help="texts per set for peers")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        sys.exit(f"error: data folder {args.data_dir} not found: pass --data-dir")
    sets = datasets(args.data_dir, 400 if args.quick else None)
    # The peers run at 10–60 texts/s: a full pass over the 12,555 online-shopping texts would
    # take SnowNLP a quarter of an hour, so they get every k-th text, up to `peer_limit`.
    peer_sets = datasets(args.data_dir, 400 if args.quick else args.peer_limit)
    figures: dict[str, object] = {"quick": args.quick, "model_load": model_load(), "results": {}}
    results: dict[str, dict[str, object]] = figures["results"]  # type: ignore[assignment]
    missing: dict[str, str] = {}
    for method, (factory, langs) in METHODS.items():
        chosen = sets if method == "clamor" else peer_sets
        for name, (data, lang, binary) in chosen.items():
            if langs not in ("both", lang):
                continue
            try:
                predict = factory(binary)
            except ImportError as exc:
                missing[method] = f"not installed ({exc.name})"
                break
            results.setdefault(method, {})[name] = run_method(predict, data, binary)
    results["clamor analyze_many"] = {
        name: run_clamor_batch(data, binary) for name, (data, _, binary) in sets.items()
    }
    figures["missing_peers"] = missing
    airline = next(iter(sets.values()))[0].texts
    zh_texts = [t for data, lang, _ in sets.values() if lang == "zh" for t in data.texts]
    figures["peak_traced_mb"] = {
        "airline": peak_memory(airline[:2000]),
        "chinese": peak_memory(zh_texts[:2000]),
    }
    figures["language_id"] = language_id(sets)
    figures["pii"] = pii_false_positives(args.data_dir)
    print_table(figures, sets)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


def print_table(figures: dict[str, object], sets: dict) -> None:  # type: ignore[type-arg]
    results: dict[str, dict[str, dict[str, float]]] = figures["results"]  # type: ignore[assignment]
    print("| method | dataset | n | accuracy | macro-F1 | items/s (wall) | items/CPU-s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for method, by_set in results.items():
        for name, r in by_set.items():
            print(
                f"| {method} | {name} | {r['n']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} "
                f"| {r['items_per_second']:,.0f} | {r['items_per_cpu_second']:,.0f} |"
            )
    for method, why in figures["missing_peers"].items():  # type: ignore[union-attr]
        print(f"| {method} | — | — | — | — | {why} | |")
    load = figures["model_load"]
    print(f"\nmodels: load {load['load_seconds']} s, resident {load['resident_mb']} MB")  # type: ignore[index]
    print(f"peak traced memory during analyze(): {figures['peak_traced_mb']}")
    print(f"language id: {figures['language_id']}")
    print(f"personal data on order numbers/timestamps: {figures['pii']}")


if __name__ == "__main__":
    main()
