"""Score a run's recorded benchmark answers with the scorers of this tree and of another commit,
and count the labels whose score differs.

    python scripts/rescore.py results/demo --against 4e403dc
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from io import BytesIO
from pathlib import Path

from trouter.io import read_jsonl
from trouter.label.answer import LABEL_COLUMNS
from trouter.label.tables import read_label_table
from trouter.layout import LABELS, MANIFEST, QUERIES_JSONL

ROOT = Path(__file__).resolve().parents[1]
SCORE = """
import json, sys
from trouter.label.scoring import score_response
from trouter.score.code import Sandbox
rows = json.load(open(sys.argv[1]))
print(json.dumps([score_response(q, r, Sandbox())[0] for q, r in rows]))
"""


def scores(src: Path, rows_file: Path) -> list[float]:
    out = subprocess.run([sys.executable, "-c", SCORE, str(rows_file)], check=True,
                         capture_output=True, text=True, env={"PYTHONPATH": str(src)})
    return json.loads(out.stdout)


def checkout_src(commit: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src/trouter"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--against", required=True, help="the commit whose scorers to compare with")
    args = ap.parse_args()
    folders = json.loads((args.run_dir / MANIFEST).read_text())["folders"]
    labels = read_label_table(Path(folders["collect_labels"]["dir"]) / LABELS, LABEL_COLUMNS)
    labels = labels[labels["dataset"] != "synthetic"]
    records = {r["query_id"]: r for d in sorted(set(labels["dataset"]))
               for r in read_jsonl(Path(folders[f"data/{d}"]["dir"]) / QUERIES_JSONL)}
    pairs = [(records[q], resp) for q, resp in zip(labels["query_id"], labels["response"],
                                                    strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        rows_file = Path(tmp) / "rows.json"
        rows_file.write_text(json.dumps(pairs))
        new = scores(ROOT / "src", rows_file)
        old = scores(checkout_src(args.against, Path(tmp)), rows_file)
    changed = Counter()
    for (q, resp), a, b in zip(pairs, old, new, strict=True):
        if abs(a - b) > 1e-12:
            changed[q["dataset"]] += 1
            print(f"{q['dataset']} {q['query_id']}: {a:.3f} -> {b:.3f}  {resp[-80:]!r}")
    total = Counter(q["dataset"] for q, _ in pairs)
    for d in sorted(total):
        print(f"{d}: {changed[d]} of {total[d]} labels change score")
    print(f"all: {sum(changed.values())} of {len(pairs)} labels change score")


if __name__ == "__main__":
    main()
