"""Executing, normalising and publishing the notebooks (``make reproduce``, ``make render``, ``make html``).

    python -m lstm97.notebooks reproduce --scale smoke|paper [--scheduler ADDR] [--out DIR] NOTEBOOK...
    python -m lstm97.notebooks render NOTEBOOK...
    python -m lstm97.notebooks html [--out build/html] NOTEBOOK...
    python -m lstm97.notebooks check NOTEBOOK...

The conventions every notebook in ``notebooks/`` follows (``tests/test_notebooks.py`` checks them):

* One code cell tagged ``parameters`` (papermill's tag). Its defaults are what ``make render`` uses:
  ``scale = "paper"``, ``results = "../data/results"``, ``train = False``; every notebook also has
  ``scheduler`` and ``seed``. ``render`` passes no parameters, so papermill injects no second
  (``injected-parameters``) cell; ``reproduce`` passes them, and its copies show the injected cell.
* nbval reads cell tags, not comments: ``nbval-check-output`` on every cell whose output
  ``make test`` compares (``pytest --nbval-lax`` checks only those), ``nbval-ignore-output`` /
  ``nbval-skip`` where needed.
* The first output of every notebook states its scale (``summary.scale_statement``), and the
  results tables repeat it with the number of trials behind them.
* The committed notebooks are stored normalised (:func:`normalise`): no papermill or execution
  timing metadata, fixed kernel metadata, stable cell ids, adjacent stream outputs merged. So a
  ``make render`` from unchanged records changes no byte.

``reproduce`` never writes into ``notebooks/``: each executed notebook goes to its own output
folder (default ``results/reproduce/<scale>/notebooks``), written to a temporary file and moved
into place, so an interrupted run leaves either the previous copy or none, never half of one.
"""
import argparse
import html as html_lib
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RENDER_DEFAULTS = {"scale": "paper", "results": "../data/results", "train": False}
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}
VOLATILE_CELL_METADATA = ("papermill", "execution", "ExecuteTime")


# --------------------------------------------------------------------------- normalisation
def normalise(nb):
    """Strip what changes from one execution to the next (in place; returns ``nb``).

    Papermill's metadata (timestamps, durations, paths), the kernel's execution timestamps and the
    Python patch version go; kernel metadata is fixed; the injected-parameters cell gets a fixed id;
    adjacent stream outputs of the same stream are merged (how the kernel splits them varies), and
    of a line redrawn with carriage returns (progress bars) only its last version is kept.
    Everything a reader sees (sources, outputs, execution counts, tags) stays.
    """
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = json.loads(json.dumps(LANGUAGE_INFO))
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            del cell.metadata["tags"]
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
        if cell.cell_type == "code":
            merged = []
            for out in cell.outputs:
                if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                        and merged[-1].name == out.name):
                    merged[-1].text += out.text
                else:
                    merged.append(out)
            for out in merged:
                if out.output_type == "stream" and "\r" in out.text:
                    out.text = _as_displayed(out.text)
            cell.outputs = merged
    return nb


def _as_displayed(text):
    """Text as a terminal shows it: of the carriage-return-separated versions of a line (progress
    bars redraw themselves), only the last is kept."""
    lines = text.split("\n")
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines)


def dumps(nb):
    import nbformat
    return nbformat.writes(nb) + "\n"


def is_normalised(path):
    """True if the file at ``path`` is byte for byte what :func:`normalise` makes of it."""
    import nbformat
    text = Path(path).read_text()
    return dumps(normalise(nbformat.reads(text, as_version=4))) == text


def drop_injected(nb):
    """Remove papermill's injected-parameters cells (in place; returns ``nb``)."""
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    return nb


# --------------------------------------------------------------------------- execution
def execute(source, target, parameters=None, *, strip_injected=False, log=True):
    """Run notebook ``source`` with papermill in its own folder and write the normalised result to
    ``target`` atomically (temporary file in the target's folder, then rename). Returns seconds."""
    import nbformat
    import papermill
    source, target = Path(source).resolve(), Path(target).resolve()
    nb = nbformat.read(source, as_version=4)
    if strip_injected:
        drop_injected(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    # hidden name, so no glob of the notebooks ([0-9]*.ipynb) ever sees a half-written one
    tmp = target.parent / f".{target.stem}.partial{os.getpid()}.ipynb"
    t0 = time.perf_counter()
    try:
        out = papermill.execute_notebook(nb, str(tmp), parameters=parameters or None,
                                         cwd=str(source.parent), progress_bar=False, log_output=False)
        tmp.write_text(dumps(normalise(out)))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    seconds = time.perf_counter() - t0
    if log:
        print(f"   {target} ({seconds:.0f} s)", flush=True)
    return seconds


def parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected exactly one cell tagged 'parameters', found {len(cells)}")
    return cells[0]


def parameter_defaults(nb):
    """The names and default values the parameters cell assigns (literals only)."""
    import ast
    values = {}
    for node in ast.parse(parameters_cell(nb).source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


def render(notebooks):
    """Re-execute the committed notebooks in place from the committed records, with their own
    parameter defaults (which must be RENDER_DEFAULTS), and store them normalised."""
    import nbformat
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        defaults = parameter_defaults(nb)
        wrong = {k: defaults.get(k) for k, v in RENDER_DEFAULTS.items() if defaults.get(k) != v}
        if wrong:
            raise ValueError(f"{path}: the parameters cell must default to {RENDER_DEFAULTS}; "
                             f"it has {wrong}")
        print(f"== {path} (render: paper scale, committed records)", flush=True)
        execute(path, path, strip_injected=True)


def reproduce(notebooks, scale, out=None, results=None, scheduler=""):
    """Train what ``results`` lacks and execute every notebook into ``out``: nothing tracked changes."""
    base = ROOT / "results" / "reproduce" / scale
    results = Path(results).resolve() if results else base
    out = Path(out).resolve() if out else results / "notebooks"
    params = dict(scale=scale, results=str(results), scheduler=scheduler or "", train=True)
    t0 = time.perf_counter()
    for path in notebooks:
        print(f"== {path} (scale={scale}, records in {results})", flush=True)
        execute(path, out / Path(path).name, params)
    print(f"reproduce: {len(notebooks)} notebooks in {time.perf_counter() - t0:.0f} s; "
          f"executed notebooks in {out}", flush=True)
    return out


# --------------------------------------------------------------------------- static HTML
# nbconvert's lab template without require.js (no widgets here); MathJax still comes from its CDN
# when the reader is online, and the page reads fine without it.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
"""

_INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>lstm97: the notebooks</title>
<style>
body {{ font-family: sans-serif; max-width: 62em; margin: 2em auto; padding: 0 1em; line-height: 1.45; }}
table {{ border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
code {{ background: #f4f4f4; }}
</style>
</head>
<body>
<h1>lstm97: the 1997 LSTM, reproduced</h1>
<p>The project's notebooks as static pages ({source}), in order:</p>
<ol id="notebooks">
{items}
</ol>
<h2>Results</h2>
<p>The results block of the README, generated from the committed trial records
(<code>python -m lstm97 readme</code>).</p>
<div id="results">
{results}
</div>
</body>
</html>
"""


def notebook_title(nb, fallback):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return fallback


def readme_results_html(readme=ROOT / "README.md"):
    """The README's generated results block as HTML (mistune, which nbconvert depends on)."""
    import mistune
    from .summary import README_BEGIN, README_END
    text = Path(readme).read_text()
    block = text.split(README_BEGIN, 1)[1].split(README_END, 1)[0]
    return mistune.create_markdown(plugins=["table"])(block)


def html(notebooks, out, readme=ROOT / "README.md", source="notebooks/, the committed records"):
    """Every notebook to ``out/<name>.html`` (figures embedded as data: URIs) and ``out/index.html``."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(extra_loaders=[DictLoader({"lstm97.html.j2": _TEMPLATE})],
                            template_file="lstm97.html.j2")
    items = []
    for path in notebooks:
        path = Path(path)
        nb = nbformat.read(path, as_version=4)
        title = notebook_title(nb, path.stem)
        nb.metadata["title"] = title
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        page = out / f"{path.stem}.html"
        tmp = page.with_suffix(".html.tmp")
        tmp.write_text(body)
        os.replace(tmp, page)
        items.append(f'<li><a href="{page.name}">{html_lib.escape(title)}</a></li>')
    index = out / "index.html"
    index.write_text(_INDEX.format(items="\n".join(items), results=readme_results_html(readme),
                                   source=html_lib.escape(source)))
    print(f"html: {len(items)} notebooks and {index}")
    return index


# --------------------------------------------------------------------------- command line
def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m lstm97.notebooks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="train and execute every notebook into results/")
    rep.add_argument("--scale", default="paper", choices=("paper", "smoke"))
    rep.add_argument("--scheduler", default="")
    rep.add_argument("--results", default=None, help="records (default results/reproduce/<scale>)")
    rep.add_argument("--out", default=None, help="executed notebooks (default <results>/notebooks)")
    ren = sub.add_parser("render", help="re-execute the committed notebooks in place from the records")
    htm = sub.add_parser("html", help="static HTML pages and an index")
    htm.add_argument("--out", default=str(ROOT / "build" / "html"))
    chk = sub.add_parser("check", help="exit 1 unless every notebook is stored normalised")
    for p in (rep, ren, htm, chk):
        p.add_argument("notebooks", nargs="+")
    args = ap.parse_args(argv)
    try:
        if args.command == "reproduce":
            reproduce(args.notebooks, args.scale, args.out, args.results, args.scheduler)
        elif args.command == "render":
            render(args.notebooks)
        elif args.command == "html":
            html(args.notebooks, args.out)
        else:
            bad = [p for p in args.notebooks if not is_normalised(p)]
            for p in bad:
                print(f"{p}: not normalised; run make render", file=sys.stderr)
            return 1 if bad else 0
    except KeyboardInterrupt:
        print("interrupted; no half-written notebook was left behind", file=sys.stderr)
        return 130
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
