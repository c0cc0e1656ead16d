"""How often the language rule (models/language.py) calls English another language, and
how often it finds the other languages, on real labelled posts in ``../shared/data``.

    .venv/bin/python -m bench.languages [--data ../shared/data] [--json]

English sets: Davidson et al. (tweets, all English) and TweetEval hate (train). The
other-language sets: CrisisLexT26 events whose tweets are mostly Spanish, Italian or
Portuguese (each also holds English tweets, so "other" there is a lower bound of
recall, not a rate against ground truth). A bare reference in the same run: langid.py's
own first choice with its own confidence >= 0.9, the rule this replaced.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import time
from pathlib import Path

from models.language import LanguageDetector, UNDETERMINED

EVENTS = ("2013_Spain_train_crash", "2012_Italy_earthquakes", "2013_Brazil_nightclub_fire",
          "2012_Guatemala_earthquake")


def _column(path: Path, column: str) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [row[column] for row in csv.DictReader(fh)]


def load_sets(data: Path) -> dict[str, list[str]]:
    sets = {"davidson (en)": _column(data / "davidson_hate_offensive" / "labeled_data.csv", "tweet"),
            "tweeteval_hate (en)": _column(data / "tweeteval_hate" / "train.csv", "text")}
    crisis = collections.defaultdict(list)
    with (data / "crisislex_t26" / "crisislex_t26_labeled_all_with_time.csv").open(
            newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["event"] in EVENTS:
                crisis[row["event"]].append(row["text"])
    sets.update({f"{event} (mostly not en)": crisis[event] for event in EVENTS})
    return sets


def shares(labels: list[str]) -> dict[str, float]:
    n = len(labels) or 1
    c = collections.Counter(labels)
    return {"en": c["en"] / n, "und": c[UNDETERMINED] / n,
            "other": (n - c["en"] - c[UNDETERMINED]) / n}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data", type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    detector = LanguageDetector()
    detector.load()
    model = detector._model
    report = {}
    for name, texts in load_sets(args.data).items():
        start = time.perf_counter()
        rule = [detector.language(t) for t in texts]
        rule_s = time.perf_counter() - start
        start = time.perf_counter()
        confident = []
        for t in texts:
            code, p = model.classify(t)
            confident.append(code if p >= 0.9 else UNDETERMINED)
        ref_s = time.perf_counter() - start
        report[name] = {"posts": len(texts), "rule": shares(rule),
                        "langid_confidence_0.9": shares(confident),
                        "ms_per_post": 1000 * rule_s / len(texts),
                        "time_ratio_to_reference": rule_s / ref_s}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, r in report.items():
            a, b = r["rule"], r["langid_confidence_0.9"]
            print(f"{name:40s} n={r['posts']:6d}  rule en/und/other = {a['en']:.3f}/{a['und']:.3f}/"
                  f"{a['other']:.3f}   langid>=0.9: {b['en']:.3f}/{b['und']:.3f}/{b['other']:.3f}"
                  f"   {r['ms_per_post']:.3f} ms/post (x{r['time_ratio_to_reference']:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
