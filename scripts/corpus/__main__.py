"""Write the input corpus into a folder: `python -m scripts.corpus OUTPUT_FOLDER`."""

from __future__ import annotations

import argparse
from pathlib import Path

from scripts.corpus.cases import write_corpus

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path, help="folder to write the files and cases.json into")
    parser.add_argument("--samples", type=Path, default=ROOT / "samples", help="bundled samples folder")
    args = parser.parse_args()
    cases = write_corpus(args.samples, args.output)
    print(f"wrote {len(cases)} cases to {args.output}")


if __name__ == "__main__":
    main()
