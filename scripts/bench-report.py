#!/usr/bin/env python3
"""Helpers of scripts/bench.sh.

  bench-report.py micro CRITERION_OUTPUT...          Markdown rows for the micro-benchmarks
  bench-report.py doc RESULTS.json RESULTS.md DOC PNG  plot the record-size sweep into PNG and put
                                                       RESULTS.md between the BENCH-RESULTS
                                                       markers of DOC
"""
import json
import re
import sys

UNITS = {"ps": 1e-12, "ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
BENCH = re.compile(
    r"^(\S+)\s*\n?\s+time:\s+\[\S+ \S+ ([\d.]+) (\S+) \S+ \S+\]", re.MULTILINE
)


def micro(paths):
    for path in paths:
        text = open(path, encoding="utf-8").read()
        for name, t, unit in BENCH.findall(text):
            secs = float(t) * UNITS[unit]
            print(f"| `{name}` | {t} {unit} | {1 / secs:,.0f} |")


def doc(results_json, results_md, doc_path, png):
    results = json.load(open(results_json, encoding="utf-8"))
    sweep = results.get("sweep", [])
    if sweep:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        sizes = [s["record_size"] for s in sweep]
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
        for side, label, style in [("sluice", "Sluice (FileStreamSource, StringConverter)", "o-"),
                                   ("baseline", "raw librdkafka producer", "s--")]:
            ax.plot(sizes, [s["pair"][side]["mb_per_s"] for s in sweep], style, label=label)
        ax.set_xscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([f"{s:,} B" for s in sizes])
        ax.set_xlabel("record size")
        ax.set_ylabel("throughput (MB/s of input)")
        ax.set_title("Source throughput against record size, same broker, same run")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylim(bottom=0)
        ax.legend()
        fig.tight_layout()
        fig.savefig(png)
    table = open(results_md, encoding="utf-8").read().strip()
    text = open(doc_path, encoding="utf-8").read()
    begin, end = "<!-- BENCH-RESULTS:BEGIN -->", "<!-- BENCH-RESULTS:END -->"
    before, rest = text.split(begin, 1)
    _, after = rest.split(end, 1)
    open(doc_path, "w", encoding="utf-8").write(f"{before}{begin}\n{table}\n{end}{after}")


if __name__ == "__main__":
    if sys.argv[1] == "micro":
        micro(sys.argv[2:])
    elif sys.argv[1] == "doc":
        doc(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
