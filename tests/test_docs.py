"""Every citation of the project's description of the paper, "docs/paper.md §N", names a
section heading of docs/paper.md, and no file cites the old, unpublished "SPEC §" any more."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "docs" / "paper.md"

NUMBER = r"\d+(?:\.\d+)*[a-z]?"
REF = rf"§{NUMBER}(?:\s*[-–]\s*§?{NUMBER})?"
# "docs/paper.md §4.1, §6.4 and §6.18", "docs/paper.md §6.7-6.10", "docs/paper.md §1-3"
CITATION = re.compile(rf"docs/paper\.md\s+{REF}(?:(?:,\s*|\s+and\s+|\s+or\s+){REF})*")


def tracked_files():
    """The repository's text files (git's list when there is one), without the trial records."""
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        names = out.stdout.split() if out.returncode == 0 else []
    except OSError:
        names = []
    if not names:
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()
                 and not {".git", ".venv", "results"} & set(p.relative_to(ROOT).parts)]
    return sorted(n for n in names if not n.startswith("data/results/")
                  and n.endswith((".py", ".md", ".ipynb", ".yml", ".toml", ".txt", "Makefile")))


def headings():
    numbers = set()
    for line in PAPER.read_text().splitlines():
        m = re.match(r"#{2,6} (\d+(?:\.\d+)*)[. ]", line)
        if m:
            numbers.add(m.group(1))
    return numbers


def cited(text):
    """(section number, the citation's text) for every section a citation names."""
    for m in CITATION.finditer(text):
        for number in re.findall(r"\d+(?:\.\d+)*", m.group(0).split("md", 1)[1]):
            yield number, m.group(0)


def test_paper_md_keeps_the_numbered_sections():
    numbers = headings()
    assert {"0", "1", "2.6", "3", "4.0.1", "4.4", "5.8", "6", "6.1", "6.19", "7.7"} <= numbers
    assert all(f"6.{i}" in numbers for i in range(1, 20))
    assert "SPEC" not in PAPER.read_text() and "this spec" not in PAPER.read_text().lower()


def test_citation_parser_reads_lists_and_ranges():
    text = "(docs/paper.md §4.1, §6.4 and §6.18) docs/paper.md §6.7-6.10 (docs/paper.md §6.9b)."
    assert [n for n, _ in cited(text)] == ["4.1", "6.4", "6.18", "6.7", "6.10", "6.9"]
    assert [n for n, _ in cited("docs/paper.md §99.1")] == ["99.1"]


@pytest.mark.parametrize("name", tracked_files())
def test_every_citation_names_a_heading_of_docs_paper_md(name):
    if name in ("tests/test_docs.py", "tests/test_notebooks.py"):   # they quote what they look for
        return
    text = (ROOT / name).read_text(errors="replace")
    numbers = headings()
    missing = [c for n, c in cited(text) if n not in numbers]
    assert not missing, f"{name}: no such section in docs/paper.md: {missing}"
    assert "SPEC §" not in text and "SPEC.md" not in text, f"{name} still cites SPEC; use docs/paper.md §N"
    if name != "docs/paper.md":              # no bare "§N" a reader cannot place
        rest = CITATION.sub("", text)
        bare = re.findall(rf".{{0,30}}§\s*{NUMBER}", rest)
        assert not bare, f"{name}: § without docs/paper.md: {bare}"
