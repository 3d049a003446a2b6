"""Tables for people: one object shown as a real HTML table in Jupyter and the report pages, as
plain text where only text is compared (nbval reads both), and as a GitHub markdown table in the
README.

Numbers are formatted one way everywhere: success in whole %, counts with thousands separators,
ratios to 2 significant figures, "–" where there is no value, "yes"/"no" for flags.
"""
import html

DASH = "–"


def pct(v):
    """Success in whole %: 3.3 -> '3%'."""
    return DASH if v is None else f"{v:.0f}%"


def count(v):
    """A count with thousands separators: 39740.0 -> '39,740'."""
    return DASH if v is None else f"{v:,.0f}"


def hours(v):
    """Hours with one decimal, or two below an hour (a small run's 0.04 h is 2-3 minutes)."""
    return f"{v:.1f}" if v >= 1 else f"{v:.2f}"


def ratio(v):
    """A ratio to 2 significant figures: 2.4812 -> '2.5×', 145.2 -> '150×', 0.3666 -> '0.37×'."""
    if v is None:
        return DASH
    rounded = float(f"{v:.2g}")
    return (f"{rounded:,.0f}" if abs(rounded) >= 10 else f"{v:#.2g}") + "×"


def sig3(v):
    """A measurement to 3 significant figures: 0.013947 -> '0.0139', 5834.2 -> '5,830'."""
    if v is None:
        return DASH
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{float(f'{v:.3g}'):,.0f}"
    return f"{v:.3g}"


def text(v):
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return sig3(v)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


FORMATS = {"pct": pct, "count": count, "ratio": ratio, "sig3": sig3, "text": text}
NUMERIC = {"pct", "count", "ratio", "sig3"}


class Table:
    """``rows``: dicts; ``columns``: (key, header, kind) with kind one of FORMATS (a callable
    formats a row's value itself); ``caption`` above, ``notes`` below (a glossary, the scale).
    ``css``: an extra class of the HTML table (the verdict table is ``verdict``)."""

    def __init__(self, rows, columns, caption="", notes=(), css=""):
        self.rows = list(rows)
        self.columns = [c if len(c) == 3 else (*c, "text") for c in columns]
        self.caption, self.notes, self.css = caption, list(notes), css

    def cells(self):
        """The formatted body: one list of strings per row."""
        out = []
        for r in self.rows:
            line = []
            for key, _, kind in self.columns:
                fmt = kind if callable(kind) else FORMATS[kind]
                line.append(fmt(r.get(key)))
            out.append(line)
        return out

    def _numeric(self, i):
        kind = self.columns[i][2]
        return not callable(kind) and kind in NUMERIC

    def _repr_html_(self):
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for _, h, _ in self.columns)
        body = "".join(
            "<tr>" + "".join(f'<td class="{"num" if self._numeric(i) else "txt"}">{esc(c)}</td>'
                             for i, c in enumerate(line)) + "</tr>"
            for line in self.cells())
        caption = f"<caption>{esc(self.caption)}</caption>" if self.caption else ""
        notes = "".join(f'<p class="table-note">{esc(n)}</p>' for n in self.notes)
        css = f"report-table {self.css}".strip()
        return (f'<div class="{css}"><table>{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>{notes}</div>")

    def __repr__(self):
        heads = [h for _, h, _ in self.columns]
        body = self.cells()
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)]
        line = lambda cells: "  ".join(c.rjust(w) if self._numeric(i) else c.ljust(w)
                                       for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
        lines = ([self.caption] if self.caption else []) + [line(heads), line(["-" * w for w in widths])]
        return "\n".join(lines + [line(b) for b in body] + self.notes)

    def to_markdown(self):
        """A GitHub markdown table (numbers right-aligned), notes as a paragraph below."""
        esc = lambda s: s.replace("|", "\\|")
        align = ["---:" if self._numeric(i) else "---" for i in range(len(self.columns))]
        lines = ["| " + " | ".join(esc(h) for _, h, _ in self.columns) + " |", "|" + "|".join(align) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in line) + " |" for line in self.cells()]
        if self.notes:
            lines += ["", " ".join(self.notes)]
        return "\n".join(lines)


class Verdict:
    """A verdict in one or a few sentences, shown as a highlighted block (HTML class ``verdict``)
    and as plain text."""

    def __init__(self, sentences, heading="Verdict"):
        self.sentences = [sentences] if isinstance(sentences, str) else list(sentences)
        self.heading = heading

    def _repr_html_(self):
        items = "".join(f"<li>{html.escape(s)}</li>" for s in self.sentences)
        return f'<div class="verdict"><strong>{html.escape(self.heading)}.</strong><ul>{items}</ul></div>'

    def __repr__(self):
        return f"{self.heading}.\n" + "\n".join(f"- {s}" for s in self.sentences)


# Readable headers for the keys the library's row functions produce; a key not here is shown
# with its underscores as spaces.
HEADERS = {
    "who": "", "row": "row", "experiment": "condition", "trials": "trials", "of": "planned",
    "success_pct": "success", "paper_pct": "paper's success", "mean": "mean sequences",
    "median": "median", "min": "min", "max": "max", "ratio": "ratio to paper",
    "paper_mean": "paper's mean", "st1": "ST1 reached at", "wrong": "wrong (test)",
    "test_size": "test sequences", "fraction_misclassified": "misclassified (test)",
    "av_difference": "mean |error| (test)", "mse": "MSE (test)", "diverged": "diverged",
    "solved": "solved", "reading": "reading", "meets_both": "meets both targets",
    "distance": "distance", "lr": "learning rate", "budget": "budget (sequences)",
    "sequences": "training sequences", "steps": "LSTM time steps", "core_hours": "core-hours",
    "hours_on_2_cores": "hours on 2 cores", "stopped": "stopped", "trial": "trial",
    "trained": "sequences trained", "method": "method",
}

_KIND_BY_KEY = {"ratio": "ratio", "distance": "sig3"}


def _kind(key, values):
    if key in _KIND_BY_KEY:
        return _KIND_BY_KEY[key]
    if key.endswith("pct"):
        return "pct"
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        whole = all(float(v).is_integer() or abs(v) >= 100 for v in present)
        return "count" if whole else "sig3"
    return "text"


def auto(rows, columns=None, caption="", notes=()):
    """A Table of dicts, each column formatted by its key and values (``*pct`` keys as %, ``ratio``
    to 2 significant figures, whole numbers with separators, other numbers to 3 significant
    figures, flags as yes/no). ``columns``: keys, or (key, header) pairs, or (key, header, kind)."""
    rows = list(rows)
    if columns is None:
        columns = list(rows[0]) if rows else []
    spec = []
    for c in columns:
        key = c if isinstance(c, str) else c[0]
        header = (HEADERS.get(key, key.replace("_", " ")) if isinstance(c, str) else c[1])
        kind = c[2] if not isinstance(c, str) and len(c) == 3 else _kind(key, [r.get(key) for r in rows])
        spec.append((key, header, kind))
    return Table(rows, spec, caption=caption, notes=notes)
