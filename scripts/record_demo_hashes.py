"""Record the content hashes of the demo's published tables into tests/data/demo_table_hashes.json.

    .venv/bin/python scripts/record_demo_hashes.py          # re-record
    .venv/bin/python scripts/record_demo_hashes.py --check  # compare only, exit 1 on a difference

`tests/test_demo_pipeline.py::test_demo_output_is_unchanged` compares a fresh demo against the
recorded file. A refactor must leave it unchanged. A branch that deliberately changes the demo's
output (a new column, a new rule, a fixed number) re-records with this script and says in the
commit message which entries changed and why. What is hashed and what is normalised (the output
folder's path) is documented in `tests/demo_hashes.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from demo_hashes import demo_hashes, run_demo  # noqa: E402

RECORDED = ROOT / "tests" / "data" / "demo_table_hashes.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the recorded file instead of writing it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="demo-hashes-") as tmp:
        hashes = demo_hashes(run_demo(Path(tmp)))
    if args.check:
        recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
        changed = sorted(k for k in recorded.keys() | hashes.keys() if recorded.get(k) != hashes.get(k))
        for key in changed:
            print(f"differs: {key}")
        return 1 if changed else 0
    RECORDED.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"recorded {len(hashes)} entries in {RECORDED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
