"""`make html`: the report as static pages, checked in headless Chromium.

Every page (the index, the documents, every notebook) loads without JavaScript errors, with its
title and figures, loads nothing from the network, leaves no formula as raw TeX after MathJax ran
and has no table wider than a 1280 px window. The index holds the README's report part, the
notebooks in order and the documents. The report checks (tables as text, internal names, the
verdict near the top) say what a notebook page must look like to read as a report.
"""
import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lstm97 import html as report

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
EXPERIMENTS = [p for p in NOTEBOOKS if p.stem[:2] in ("01", "02", "03", "04", "05", "06", "08")]
BIN = Path(sys.executable).parent

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0", "--window-size=1280,900",
                  "--virtual-time-budget=20000"]

# Names of the code, of the project's notes and raw Python reprs: none may show on a page.
INTERNAL_NAMES = ("EmbeddedReber(", "VeryLongLag(", "TwoSequence(", "st12", "nseq", "lstm97.engine",
                  "lstm97.lanes", "the brief", "issue 1", "issue 2", "issue 3", "wrong_with_target",
                  "success_pct", "paper_pct", "{'block'", "True</td>", "False</td>")


# Written into a copy of each page: after MathJax has typeset everything (or at load when the page
# has no MathJax), the tables wider than the window, the images that did not load, the visible text
# (closed <details> and scripts excluded) and the text of the first verdict, as JSON in a textarea.
PROBE = """<script>
(function () {
  function probe() {
    var width = document.documentElement.clientWidth, wide = 0, broken = 0;
    document.querySelectorAll("table").forEach(function (t) {
      var box = (t.closest(".table-wrap") || t).getBoundingClientRect();
      if (box.right > width + 1 || box.width > width) wide++;
    });
    document.querySelectorAll("img").forEach(function (i) {
      if (!(i.complete && i.naturalWidth > 0)) broken++;
    });
    var verdict = document.querySelector(".verdict, #verdict");
    var out = document.createElement("textarea");
    out.id = "lstm97-probe";
    out.textContent = JSON.stringify({wide: wide, broken: broken, text: document.body.innerText,
                                      verdict: verdict ? verdict.innerText : null});
    document.body.appendChild(out);
  }
  window.addEventListener("load", function () {
    if (window.MathJax && MathJax.Hub) {
      MathJax.Hub.Register.StartupHook("End", function () { MathJax.Hub.Queue(probe); });
    } else {
      probe();
    }
  });
})();
</script>
"""
NETWORK = re.compile(r"""<(?:script|img)\b[^>]*?\ssrc=["']?(?:https?:)?//"""
                     r"""|<link\b(?=[^>]*stylesheet)[^>]*?\shref=["']?(?:https?:)?//""", re.I)
RAW_TEX = re.compile(r"\$[^$\n]+\$|\\\(|\\\[|\\begin\{")
# a header rule of a text table: dashes separated by spaces ("----  ---") or a markdown one
TEXT_TABLE_RULE = re.compile(r"^\s*(?:-{2,}(?:\s+-{2,})+|\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?)\s*$", re.M)


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI") or os.environ.get("LSTM97_REQUIRE_BROWSER"):
        pytest.fail("Chromium is required here (CI or LSTM97_REQUIRE_BROWSER is set) but not "
                    "installed: apt-get install -y chromium chromium-driver")
    pytest.skip("Chromium is not installed (apt-get install -y chromium chromium-driver); "
                "set LSTM97_REQUIRE_BROWSER=1 to make that a failure")


def _load(browser, page, tmp_path):
    """(DOM after loading, JavaScript errors, what the probe found) of a copy of ``page`` with the
    probe appended, in headless Chromium with a new profile."""
    probed = page.with_name(f"{page.stem}.probe.html")
    text = page.read_text()
    probed.write_text(text.replace("</body>", PROBE + "</body>") if "</body>" in text else text + PROBE)
    profile = tempfile.mkdtemp(dir=tmp_path, prefix="profile")
    run = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                          probed.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if ":CONSOLE" in line and "Uncaught" in line]
    m = re.search(r'<textarea id="lstm97-probe">(.*?)</textarea>', run.stdout, re.S)
    probe = json.loads(html.unescape(m.group(1))) if m else None
    return run.stdout, errors, probe


def _check_page(browser, page, tmp_path, title, images):
    """Everything every page must satisfy; returns (DOM, probe)."""
    assert not NETWORK.search(page.read_text()), f"{page.name}: loads from the network"
    dom, errors, probe = _load(browser, page, tmp_path)
    assert not errors, f"{page.name}: JavaScript errors {errors}"
    assert f"<title>{html.escape(title, quote=False)}</title>" in dom, f"{page.name}: not loaded (title missing)"
    assert probe is not None, f"{page.name}: the page never finished loading (MathJax?)"
    assert not NETWORK.search(dom), f"{page.name}: loads from the network"
    figures = re.findall(r'<img\b[^>]*\ssrc="data:image/png;base64,[A-Za-z0-9+/=]{8,}', dom)
    if images is not None:
        assert len(figures) == images, f"{page.name}: figures missing ({len(figures)} of {images})"
    assert probe["broken"] == 0, f"{page.name}: {probe['broken']} images did not load"
    raw = RAW_TEX.findall(probe["text"])
    assert not raw, f"{page.name}: raw TeX left after MathJax: {raw[:5]}"
    assert probe["wide"] == 0, f"{page.name}: {probe['wide']} tables wider than the window"
    return dom, probe


# --------------------------------------------------------------------------- the pages, built once
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
README = """# A project

Outside the report part.

<!-- report -->
The answer: **12 of 31 rows** reproduced (docs/paper.md §6.3 and §4.1).

![the headline figure](docs/figures/headline.png)

| row | ours | paper |
|---|---:|---:|
| 2c-9 | 98% | 100% |

## What stands out

- a point, see docs/paper.md §6.7-6.10
<!-- /report -->

## Not the report

Below the report part.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The real notebooks and documents, with a small README of our own, built once: the folder
    and, per page, (title, number of embedded figures or None), read from the sources just before."""
    import nbformat
    tmp = tmp_path_factory.mktemp("site")
    (tmp / "docs" / "figures").mkdir(parents=True)
    (tmp / "docs" / "figures" / "headline.png").write_bytes(PNG)
    (tmp / "README.md").write_text(README)
    expected = {"index": (report.TITLE, None)}
    for doc in (ROOT / "docs").glob("*.md"):
        expected[doc.stem] = (re.search(r"^#\s+(.+)$", doc.read_text(), re.M).group(1).strip(), None)
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        expected[path.stem] = (report.notebook_title(nb, path.stem), sum(
            "image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])))
    index = report.build(NOTEBOOKS, tmp / "html", readme=tmp / "README.md")
    return index.parent, expected


@pytest.fixture(scope="module")
def pages(site, tmp_path_factory):
    """name -> (DOM, probe) of every page, each checked by _check_page once."""
    browser = _chromium()
    tmp = tmp_path_factory.mktemp("browser")
    folder, expected = site
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = _check_page(browser, folder / f"{name}.html", tmp, *expected[name])
        return cache[name]
    return get


DOCS = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
PAGES = ["index", *DOCS, *(p.stem for p in NOTEBOOKS)]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_loads_offline_with_figures_math_and_narrow_tables(pages, name):
    dom, probe = pages(name)
    assert probe["text"].strip()


def test_index_holds_the_report_part_then_the_notebooks_then_the_documents(pages, site):
    folder, expected = site
    dom, probe = pages("index")
    text = probe["text"]
    assert "The answer: 12 of 31 rows" in text and "What stands out" in text
    assert "Outside the report part" not in text and "Below the report part" not in text
    assert "committed notebooks" in text and "paper" in text and "data/results" in text
    assert "not this run" not in text
    assert re.search(r'<img [^>]*src="docs/figures/headline.png"', dom)
    assert (folder / "docs" / "figures" / "headline.png").read_bytes() == PNG
    assert re.search(r'<td class="num"[^>]*>98%</td>', dom) or re.search(r'<td [^>]*right[^>]*>98%</td>', dom)
    assert 'href="paper.html#s6.3"' in dom and 'href="paper.html#s6.10"' in dom
    positions = []
    for path in NOTEBOOKS:
        link = f'<a href="{path.stem}.html">{html.escape(expected[path.stem][0], quote=False)}</a>'
        assert link in dom, f"index: no link to {path.stem} with its title"
        positions.append(dom.index(link))
    assert positions == sorted(positions), "index: the notebooks, in order"
    assert dom.index("The answer: ") < positions[0]
    documents = dom.index('id="documents"')
    assert positions[-1] < documents and '<a href="paper.html">' in dom[documents:], "index: then the documents"


def test_citations_link_to_the_sections_of_the_paper_page(pages, site):
    folder, _ = site
    dom, _ = pages("paper")
    ids = set(re.findall(r'\sid="(s[\d.]+)"', dom))
    assert {"s0", "s4.0.1", "s6.3", "s6.19"} <= ids
    linked = 0
    for page in folder.glob("*.html"):
        if page.name.endswith(".probe.html"):
            continue
        text = page.read_text()
        targets = re.findall(r'href="paper\.html#([^"]+)"', text)
        assert set(targets) <= ids, f"{page.name}: links to sections paper.html lacks"
        assert not report.CITATION.search(text), f"{page.name}: a citation that is not a link"
        linked += len(targets)
    assert linked > 50


def test_code_is_collapsed_outputs_shown_and_the_parameters_cell_has_no_input(pages):
    from bs4 import BeautifulSoup
    dom, probe = pages(NOTEBOOKS[1].stem)
    soup = BeautifulSoup(dom, "html.parser")
    cells = soup.select("div.jp-CodeCell")
    assert cells
    for cell in cells:
        inputs = cell.select(".jp-InputArea")
        if "celltag_parameters" in cell["class"] or "celltag_injected-parameters" in cell["class"]:
            assert not inputs, "the parameters cell shows its code"
            continue
        assert len(inputs) == 1 and inputs[0].find_parent("details") is not None
        assert not inputs[0].find_parent("details").has_attr("open")
        assert all(out.find_parent("details") is None for out in cell.select(".jp-OutputArea"))
    assert "import " not in probe["text"], "code is shown before it is asked for"
    assert probe["text"].count("code") >= len(cells) - 1


def test_the_browser_check_catches_a_broken_page(tmp_path):
    browser = _chromium()
    page = tmp_path / "broken.html"
    head = "<html><head><title>t</title>"
    figure = '<img src="data:image/png;base64,' + base64.b64encode(PNG).decode() + '">'
    cases = [(head + "<script>undefined_function();</script></head><body>" + figure, "JavaScript errors"),
             (head + "</head><body>", "figures missing"),
             (head + "</head><body>" + figure + "<p>a formula $x^2$ left as TeX</p>", "raw TeX"),
             (head + "</head><body>" + figure + "<p>\\begin{align} x \\end{align}</p>", "raw TeX"),
             (head + "</head><body>" + figure + '<table style="width: 3000px"><tr><td>1</td></tr></table>',
              "tables wider than the window"),
             (head + '<script src="https://example.invalid/x.js"></script></head><body>' + figure,
              "loads from the network"),
             (head + "</head><body>" + figure + '<img src="missing.png">', "images did not load")]
    for text, message in cases:
        page.write_text(text + "</body></html>")
        with pytest.raises(AssertionError, match=message):
            _check_page(browser, page, tmp_path, "t", 1)
    page.write_text(head + "</head><body>" + figure + '<div class="table-wrap" style="overflow-x: auto">'
                    '<table style="width: 3000px"><tr><td>1</td></tr></table></div></body></html>')
    _check_page(browser, page, tmp_path, "t", 1)                 # a wide table in its own box is fine


# --------------------------------------------------------------------------- the report checks
def _text_tables(dom):
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(dom, "html.parser")
    return [pre.get_text() for pre in soup.select(".jp-OutputArea-output pre")
            if len(pre.get_text().strip().splitlines()) >= 3 and TEXT_TABLE_RULE.search(pre.get_text())]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_report_no_table_printed_as_text(pages, path):
    dom, _ = pages(path.stem)
    tables = _text_tables(dom)
    assert not tables, f"{path.stem}: {len(tables)} tables printed as text, e.g.\n{tables[0][:400]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_report_no_internal_names(pages, path):
    dom, probe = pages(path.stem)
    visible = probe["text"]
    found = [n for n in INTERNAL_NAMES if (n in dom if n.endswith("</td>") else n in visible)]
    assert not found, f"{path.stem}: internal names on the page: {found}"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_report_the_verdict_comes_in_the_first_third(pages, path):
    _, probe = pages(path.stem)
    assert probe["verdict"], f"{path.stem}: no verdict"
    text, start = probe["text"], probe["text"].find(probe["verdict"].strip()[:80])
    assert 0 <= start <= len(text) / 3, f"{path.stem}: the verdict comes at {start / len(text):.0%} of the page"


def test_report_checks_catch_what_they_look_for():
    dom = ('<div class="jp-OutputArea-output"><pre>row  ours\n---  ----\n2a   100%\n</pre></div>'
           '<div class="jp-OutputArea-output"><pre>| a | b |\n|---|--:|\n| 1 | 2 |\n</pre></div>'
           '<div class="jp-OutputArea-output"><pre>Scale: paper\n-- one line\nthird line\n</pre></div>')
    assert len(_text_tables(dom)) == 2


# --------------------------------------------------------------------------- building blocks
def test_a_citation_becomes_one_link_per_section():
    docs = {"paper.md", "runtime.md"}
    out = report.link_text("<p>see docs/paper.md §4.1, §6.4 and §6.18; docs/paper.md §6.7-6.10 and "
                           "docs/runtime.md.</p>", docs)
    assert re.findall(r'href="([^"]+)"', out) == ["paper.html", "paper.html#s4.1", "paper.html#s6.4",
                                                  "paper.html#s6.18", "paper.html", "paper.html#s6.7",
                                                  "paper.html#s6.10", "runtime.html"]
    kept = '<a href="x.html">docs/paper.md §6.3</a><img alt="docs/paper.md §6.3" src="a.png">'
    assert report.link_text(kept, docs) == kept
    assert report.link_text("<p>docs/other.md</p>", docs) == "<p>docs/other.md</p>"
    links = report.link_files('<a href="docs/runtime.md#x">a</a> <a href="../docs/paper.md">b</a> '
                              '<a href="02_long.ipynb">c</a> <a href="README.md">d</a>', docs, {"02_long"})
    assert re.findall(r'href="([^"]+)"', links) == ["runtime.html#x", "paper.html", "02_long.html", "README.md"]


def test_numbered_headings_get_stable_anchors_and_tables_scroll_in_a_box():
    out = report.markdown("## 0. Sources\n\n### 6.3 When weights are applied\n\n#### Task 2a\n")
    assert re.findall(r"<h\d( id=\"[^\"]*\")?>", out) == [' id="s0"', ' id="s6.3"', ""]
    table = report.style_tables(report.markdown("| a | b |\n|---|---|\n| x | 1.5% |\n"))
    assert '<div class="table-wrap"><table>' in table and "</table></div>" in table
    assert "<td>x</td>" in table and '<td class="num">1.5%</td>' in table
    rows = report.style_tables(report.markdown("| row | trials |\n|---|---|\n| 4-3 | 10 |\n| 5 | 10 |\n"))
    assert "<td>4-3</td>" in rows and "<td>5</td>" in rows and rows.count('<td class="num">10</td>') == 2
    frame = report.style_tables("<table><tr><th>4-3</th><td>10</td><td>x</td></tr></table>")
    assert '<th>4-3</th><td class="num">10</td><td>x</td>' in frame        # an index in <th>: data from the first <td>


def test_the_report_part_is_what_the_markers_enclose(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\nintro\n<!-- report -->\nthe answer\n<!-- /report -->\nmore\n"
                      "<!-- report -->\nwhat stands out\n<!-- /report -->\nend\n")
    assert report.readme_report(readme).split() == ["the", "answer", "what", "stands", "out"]
    readme.write_text("# x\nnothing\n")
    with pytest.raises(ValueError):
        report.readme_report(readme)


def test_make_html_of_a_reproduce_run_says_which_run_it_shows(tmp_path):
    """make html NOTEBOOKS_DIR=...: the executed notebooks of a run, and the index says its scale
    and records and that the README's part describes the committed records."""
    import nbformat
    from lstm97 import notebooks as nbtools
    folder = tmp_path / "run" / "notebooks"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": nbtools.KERNELSPEC})
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · A notebook\n\nText, docs/paper.md §6.3."),
                nbformat.v4.new_code_cell('scale = "paper"\nresults = "../data/results"',
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(f'scale = "smoke"\nresults = "{tmp_path / "run"}"\ntrain = True',
                                          metadata={"tags": ["injected-parameters"]})]
    nbformat.write(nb, folder / "01_a.ipynb")
    out = tmp_path / "html"
    run = subprocess.run(["make", "-C", str(ROOT), "html", f"NOTEBOOKS_DIR={folder}", f"HTML={out}",
                          f"BIN={BIN}", "STAMP="], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert str(out / "index.html") in run.stdout, "make html says where the index is"
    index = (out / "index.html").read_text()
    assert "<strong>smoke</strong>" in index and str(tmp_path / "run") in index
    assert "not this run" in index and "committed notebooks" not in index
    assert 'href="01_a.html"' in index and (out / "01_a.html").exists()
    assert (out / "mathjax" / "MathJax.js").exists()
    assert "scale = " not in (out / "01_a.html").read_text()
