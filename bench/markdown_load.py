"""How long loading a corpus of Markdown files takes: the loader's share of a build.

Times ``ingest.loaders.load_document`` over every ``.md`` file of a folder (front matter, template
tags, HTML blocks and inline syntax made plain text), best of ``--runs`` passes, and counts what
remains in the loaded text that a reader should not see: HTML tags, character references and
backslash escapes. To compare two versions of the code, run it from each checkout in turn (the
same files, alternating).

    python bench/markdown_load.py --corpus ../shared/data/handbooks --runs 3
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import SHARED_DATA, write_result
from ingest.loaders import LoadError, load_document

_LEFT = {
    "html_tags": re.compile(r"</?(?:div|p|table|tbody|tr|td|th|ul|li|details|summary|h[1-6]|iframe|button)\b[^>\n]*>"),
    "character_references": re.compile(r"&(?:#[0-9]+|[A-Za-z][A-Za-z0-9]+);"),
    "backslash_escapes": re.compile(r"\\[!-/:-@\[-`{-~]"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARED_DATA / "handbooks")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    files = sorted(args.corpus.rglob("*.md"))
    texts: list[str] = []
    best = float("inf")
    for _ in range(max(1, args.runs)):
        texts = []
        started = time.perf_counter()
        for path in files:
            try:
                texts.append(load_document(path, str(path.relative_to(args.corpus))).text)
            except LoadError:
                continue  # a file with no text: a build skips it by name
        best = min(best, time.perf_counter() - started)
    left = {name: sum(len(pattern.findall(t)) for t in texts) for name, pattern in _LEFT.items()}
    result = {"files": len(files), "loaded": len(texts), "best_seconds": round(best, 3), "left_in_text": left}
    print(f"{len(files)} files ({len(texts)} loaded): best of {args.runs} passes {best:.2f} s; left: {left}")
    write_result("markdown_load", result)


if __name__ == "__main__":
    main()
