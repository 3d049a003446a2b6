"""The report as static HTML pages (``make html``), readable offline.

    python -m lstm97.notebooks html [--out build/html] NOTEBOOK...

``out/index.html`` holds the README's report part (between ``<!-- report -->`` and
``<!-- /report -->``), the notebooks in order and the documents; every notebook becomes
``out/<name>.html`` (figures embedded), every ``docs/*.md`` ``out/<name>.html``. Code cells are
collapsed (a ``code`` switch shows them), the parameters cell shows no input, math is typeset by a
copy of MathJax in ``out/mathjax`` (from the ``jupyter-server-mathjax`` package), and nothing loads
from the network. Every citation "docs/paper.md §6.3" becomes a link to ``paper.html#s6.3``, every
mention of a rendered document a link to its page.
"""
import ast
import html as html_lib
import os
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TITLE = "lstm97: does the 1997 LSTM do what the paper says?"
REPORT_BEGIN, REPORT_END = "<!-- report -->", "<!-- /report -->"
COMMITTED = {"scale": "paper", "results": "../data/results"}   # the parameters cell's defaults
MATHJAX = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"

NUMBER = r"\d+(?:\.\d+)*[a-z]?"
REF = rf"§{NUMBER}(?:\s*[-–]\s*§?{NUMBER})?"
# "docs/paper.md §6.3", "docs/paper.md §4.1, §6.4 and §6.18", "docs/paper.md §6.7-6.10"
CITATION = re.compile(rf"docs/paper\.md\s+{REF}(?:(?:,\s*|\s+and\s+|\s+or\s+){REF})*")

NUMERIC = re.compile(r"[-+−–.,%×e()\[\]~≈<>/\s]*\d[-+−–.,%×e()\[\]~≈<>/\s\d]*")

CSS = """
body { max-width: 76em; margin: 0 auto; padding: 0.5em 1.5em 3em; line-height: 1.5;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; }
a { color: #1a5fb4; }
nav.report-nav { font-size: 0.9em; margin: 0.5em 0 1em; }
img { max-width: 100%; height: auto; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: 0.8em 0; }
.report .table-wrap table { border-collapse: collapse; font-size: 0.9em; margin: 0; table-layout: auto; }
.report .table-wrap th, .report .table-wrap td { border: 1px solid #c8c8c8; padding: 0.25em 0.6em;
       text-align: left; vertical-align: top; white-space: normal; }
.report .table-wrap th { background: #ececec; font-weight: 600; }
.report .table-wrap tbody tr:nth-child(even) { background: #f6f6f6; }
.report .table-wrap tbody tr:hover { background: #eaf2fb; }
.report .table-wrap td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.report .table-wrap td:first-child { white-space: nowrap; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.3em 0; }
.table-note { font-size: 0.85em; color: #555; margin: 0.3em 0 1em; }
.verdict { border-left: 4px solid #2a6ebb; background: #f0f5fb; padding: 0.5em 1em; margin: 1em 0; }
pre { overflow-x: auto; }
code { background: #f4f4f4; padding: 0 0.2em; }
pre code { background: none; padding: 0; }
details.code > summary { cursor: pointer; color: #666; font-size: 0.85em; }
.run { background: #fff8e1; border: 1px solid #e0c060; padding: 0.5em 1em; }
"""

# nbconvert's lab template with MathJax from the local copy, without require.js and mermaid (no
# network), the code of each code cell in a closed <details>, and none of the parameters cell.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
            processEscapes: true, processEnvironments: true},
  "HTML-CSS": {availableFonts: [], imageFont: null, preferredFont: null, webFont: "STIX-Web"},
  messageStyle: "none", displayAlign: "center"
});
</script>
<script src="{{ resources.mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
{%- block html_head_css -%}<style>""" + CSS + """</style>{%- endblock html_head_css -%}
{%- block body_header -%}
<body class="jp-Notebook report" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<main>
<nav class="report-nav"><a href="index.html">lstm97: the report</a></nav>
{%- endblock body_header -%}
{% block input_group -%}
{%- set tags = cell.metadata.get('tags', []) -%}
{%- if 'parameters' not in tags and 'injected-parameters' not in tags -%}
<details class="code"><summary>code</summary>
{{ super() }}
</details>
{%- endif -%}
{%- endblock input_group %}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style>{css}</style>
</head>
<body class="report">
{body}
</body>
</html>
"""


# --------------------------------------------------------------------------- what the pages show
def notebook_title(nb, fallback):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return fallback


def run_parameters(nb):
    """(scale, results) the notebook ran with: papermill's injected-parameters cell where there is
    one (a ``make reproduce`` run), else the parameters cell's defaults."""
    values = dict(COMMITTED)
    for tag in ("parameters", "injected-parameters"):
        for cell in nb.cells:
            if tag in cell.metadata.get("tags", []):
                for node in ast.parse(cell.source).body:
                    if (isinstance(node, ast.Assign) and len(node.targets) == 1
                            and isinstance(node.targets[0], ast.Name)
                            and node.targets[0].id in values):
                        try:
                            values[node.targets[0].id] = ast.literal_eval(node.value)
                        except ValueError:
                            pass
    return values["scale"], values["results"]


def _shown(path):
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run_description(runs):
    """The index's first paragraph: which scale and records the pages show. ``runs``: (notebook
    path, scale, results) per notebook, ``results`` as the notebook has it (relative to its folder)."""
    folders = sorted({_shown(Path(p).parent) for p, _, _ in runs})
    shown = sorted({(scale, _shown(Path(p).parent / results)) for p, scale, results in runs})
    committed = shown == [("paper", "data/results")] and folders == ["notebooks"]
    what = "; ".join(f"scale <strong>{html_lib.escape(s)}</strong>, trial records in "
                     f"<code>{html_lib.escape(r)}</code>" for s, r in shown)
    where = ", ".join(f"<code>{html_lib.escape(f)}</code>" for f in folders)
    if committed:
        return (f"<p class=\"run\">These pages show the committed notebooks ({where}): {what}.</p>")
    return (f"<p class=\"run\">These pages show the notebooks in {where}, not the committed ones: "
            f"{what}. The report part below comes from the README and describes the committed "
            f"paper-scale records, not this run.</p>")


def readme_report(readme):
    """The README's report part, as markdown: the text between ``<!-- report -->`` and
    ``<!-- /report -->`` (of every such block, in order)."""
    text = Path(readme).read_text()
    parts = re.findall(rf"{re.escape(REPORT_BEGIN)}(.*?){re.escape(REPORT_END)}", text, re.S)
    if not parts:
        raise ValueError(f"{readme}: no report part ({REPORT_BEGIN} ... {REPORT_END})")
    return "\n".join(parts)


# --------------------------------------------------------------------------- markdown and links
def markdown(text):
    """HTML of markdown ``text`` (mistune, tables on, raw HTML kept); a numbered heading
    ("### 6.3 When weights are applied") gets the id "s6.3"."""
    import mistune

    class Renderer(mistune.HTMLRenderer):
        def heading(self, text, level, **attrs):
            m = re.match(r"(\d+(?:\.\d+)*)[. ]", text)
            ident = f' id="s{m.group(1)}"' if m else ""
            return f"<h{level}{ident}>{text}</h{level}>\n"

    return mistune.create_markdown(renderer=Renderer(escape=False), plugins=["table"])(text)


def copy_images(page, base, out):
    """Copy every image that ``page`` (HTML) references by a relative path (relative to folder
    ``base``) into ``out``, under the same path where it lies inside ``base`` (else into
    ``out/images``), and point the src at the copy."""
    folder = Path(base).resolve()

    def copy(m):
        src = m.group(2)
        if re.match(r"[a-z]+:|/|#", src):
            return m.group(0)
        path = (folder / src).resolve()
        if not path.is_file():
            return m.group(0)
        rel = path.relative_to(folder) if path.is_relative_to(folder) else Path("images") / path.name
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out / rel)
        return f"{m.group(1)}{rel.as_posix()}{m.group(3)}"
    return re.sub(r'(<img\b[^>]*?\ssrc=")([^"]+)(")', copy, page)


def _link_citation(text):
    """'docs/paper.md §4.1, §6.7-6.10' with the document and each section number a link."""
    head, rest = text.split("md", 1)
    rest = re.sub(r"§?(\d+(?:\.\d+)*)[a-z]?",                 # a letter after the number (an item of a section) links to the section
                  lambda m: f'<a href="paper.html#s{m.group(1)}">{m.group(0)}</a>', rest)
    return f'<a href="paper.html">{head}md</a>{rest}'


def link_text(page, docs):
    """Citations of docs/paper.md and mentions of the documents ``docs`` (names such as
    "paper.md") in the text of ``page`` (HTML) become links; tags, scripts, styles and the text of
    existing links stay as they are."""
    names = "|".join(re.escape(d) for d in sorted(docs))
    mention = re.compile(rf"{CITATION.pattern}|\bdocs/({names})\b" if names else CITATION.pattern)

    def replace(m):
        if m.lastindex is None:                            # a citation
            return _link_citation(m.group(0))
        return f'<a href="{m.group(1)[:-3]}.html">{m.group(0)}</a>'

    parts, skip = re.split(r"(<[^>]*>)", page), None
    for i, part in enumerate(parts):
        if i % 2:                                          # a tag
            name = re.match(r"</?([a-zA-Z]+)", part)
            name = name.group(1).lower() if name else ""
            if skip is None and name in ("a", "script", "style", "textarea") and not part.startswith("</"):
                skip = name
            elif skip == name and part.startswith("</"):
                skip = None
        elif skip is None and "docs/" in part:
            parts[i] = mention.sub(replace, part)
    return "".join(parts)


def link_files(page, docs, pages):
    """Links to a rendered document (``docs/x.md``, ``x.md`` from within docs/) or notebook
    (``x.ipynb``) point at its page."""
    def href(m):
        target, frag = m.group(2).partition("#")[::2]
        name = target.rsplit("/", 1)[-1]
        if name in docs and re.fullmatch(r"(\.\./)*(docs/)?[\w.-]+", target):
            target = name[:-3] + ".html"
        elif name.endswith(".ipynb") and name[:-6] in pages and re.fullmatch(r"(\.\./)*(notebooks/)?[\w.-]+", target):
            target = name[:-6] + ".html"
        return f'{m.group(1)}{target}{"#" + frag if frag else ""}"'
    return re.sub(r'(<a\b[^>]*?\shref=")([^"]*)"', href, page)


def style_tables(page):
    """Every table in its own horizontally scrolling box; cells that hold a number and have no
    class or style of their own get the class ``num`` (right-aligned), except a row's first
    cell, which names the row (a row "4-3" or "5" is a label, not a number)."""
    page = re.sub(r"(<table\b)", r'<div class="table-wrap">\1', page)
    page = page.replace("</table>", "</table></div>")

    def cell(m):
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip()
        return f'<td class="num">{m.group(1)}</td>' if NUMERIC.fullmatch(text) else m.group(0)

    def row(m):
        first, rest = re.match(r"(\s*(?:<td\b.*?</td>)?)(.*)", m.group(2), flags=re.S).groups()
        return m.group(1) + first + re.sub(r"<td>(.*?)</td>", cell, rest, flags=re.S) + m.group(3)
    return re.sub(r"(<tr\b[^>]*>)(.*?)(</tr>)", row, page, flags=re.S)


def finish(page, docs, pages):
    return style_tables(link_files(link_text(page, docs), docs, pages))


# --------------------------------------------------------------------------- the pages
def _write(path, text):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _copy_mathjax(out):
    import jupyter_server_mathjax
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(static, out / "mathjax", dirs_exist_ok=True)


def build(notebooks, out, readme=ROOT / "README.md", docs=ROOT / "docs"):
    """Every notebook to ``out/<name>.html``, every ``docs/*.md`` to ``out/<name>.html``, and
    ``out/index.html``; returns the index's path."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _copy_mathjax(out)
    documents = sorted(Path(docs).glob("*.md"), key=lambda p: (p.name != "paper.md", p.name))
    names = {p.name for p in documents}
    stems = {Path(p).stem for p in notebooks}
    exporter = HTMLExporter(extra_loaders=[DictLoader({"lstm97.html.j2": _TEMPLATE})],
                            template_file="lstm97.html.j2", mathjax_url=MATHJAX,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    items, runs = [], []
    for path in notebooks:
        path = Path(path)
        nb = nbformat.read(path, as_version=4)
        title = notebook_title(nb, path.stem)
        nb.metadata["title"] = title
        runs.append((path, *run_parameters(nb)))
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        _write(out / f"{path.stem}.html", finish(body, names, stems))
        items.append(f'<li><a href="{path.stem}.html">{html_lib.escape(title)}</a></li>')
    doc_items = []
    for path in documents:
        text = path.read_text()
        m = re.search(r"^#\s+(.+)$", text, re.M)
        title = m.group(1).strip() if m else path.name
        body = copy_images(markdown(text), path.parent, out)
        nav = '<nav class="report-nav"><a href="index.html">lstm97: the report</a></nav>\n'
        _write(out / f"{path.stem}.html", _PAGE.format(
            title=html_lib.escape(title), css=CSS, body=nav + finish(body, names, stems)))
        doc_items.append(f'<li><a href="{path.stem}.html">{html_lib.escape(title)}</a> '
                         f"(<code>docs/{path.name}</code>)</li>")
    report = copy_images(markdown(readme_report(readme)), Path(readme).parent, out)
    body = "\n".join([f"<h1>{html_lib.escape(TITLE)}</h1>", run_description(runs),
                      f'<section id="report">\n{report}\n</section>',
                      "<h2>The notebooks</h2>", '<ol id="notebooks">', *items, "</ol>",
                      "<h2>The documents</h2>", '<ul id="documents">', *doc_items, "</ul>"])
    index = out / "index.html"
    _write(index, _PAGE.format(title=html_lib.escape(TITLE), css=CSS, body=finish(body, names, stems)))
    print(f"html: {len(items)} notebooks and {len(doc_items)} documents; open {index.resolve()}")
    return index
