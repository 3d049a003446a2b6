"""The paper's stopping criteria, one object each (docs/paper.md §4; ``Experiment`` lists them).

A criterion is read off the training stream itself (``scan``: Exp 2's window, ST3 of Exp 4 and
6, n_seq of Exp 5; exact to the sequence) or checked on test sets after each chunk of training
(``check``: Exp 1's Reber test, ST1/ST2 of Exp 3). Each owns its stages, the stage whose count
is the trial's "success after" (``final``), the test figures the paper reports (``test``) and
the words a record gives for its success (``reason``). The trial (trial.py), random weight
guessing (guessing.py) and the summaries (summary.py) all ask these objects.

``judged_on_clean(exp)``: the one place of the rule that 3c's end outputs are judged against
the noise-free target (docs/paper.md §4.3).
"""
import numpy as np

from .nets import evaluate
from .online import ABS_ALL, ABS_END, ERR_END
from .tasks import reber

STREAM = ("window", "st3", "nseq")


def judged_on_clean(exp):
    """3c: targets carry noise; ST1/ST2 and the test compare with the noise-free target."""
    return exp.condition == "3c"


def end_goal(exp, batch):
    """The target the first end output is judged against, one per sequence."""
    return batch.info["clean"] if judged_on_clean(exp) else batch.end_targets()[:, 0]


def _runs(ok, carry):
    """Length of the run of consecutive True ending at each index, continuing ``carry``."""
    idx = np.arange(len(ok))
    last_bad = np.maximum.accumulate(np.where(~ok, idx, -1))
    return np.where(last_bad >= 0, idx - last_bad, carry + idx + 1)


def _end_outputs(net, batch):
    stats, outputs = evaluate(net, batch)
    return stats, outputs[batch.starts[1:] - 1]


class Criterion:
    """What every criterion shares; see the module docstring."""
    stream = False
    final = "solved"
    wrong_key = "wrong"             # the test figure that counts wrong sequences

    def __init__(self, exp):
        self.exp = exp

    def scan(self, stats):
        """Stream criteria: the stages reached in one chunk of per-sequence statistics, as
        (index in chunk, stage name)."""
        return []

    def count(self, n):
        """The sequence count recorded for a stage reached after ``n`` sequences."""
        return n

    def check(self, net, task, rng):
        """Checked criteria: the stages the net passes now, on fresh test sets from ``rng``."""
        return []

    def reason(self, stage, count):
        return f"{stage} after {count} sequences"

    def test(self, net, task, rng):
        """The test figures the paper reports for this experiment, on a fresh test set."""
        exp, n = self.exp, self.exp.test_size
        stats, _ = evaluate(net, task.sample(rng, n))
        column = ABS_ALL if exp.all_steps else ABS_END
        return dict(test_size=n, wrong=int(np.sum(stats[:, column] >= exp.abs)),
                    mse=float(stats[:, ERR_END].mean() / net.n_out),
                    mean_error=float(stats[:, ERR_END].mean()))


class Reber(Criterion):
    """Exp 1: every symbol of the training and the test set predicted (docs/paper.md §4.1)."""
    wrong_key = "test_wrong"

    @staticmethod
    def wrong(net, task):
        """Wrong predictions on the training and the test set."""
        wrong = []
        for batch, legal in ((task.train_batch, task.train_legal), (task.test_batch, task.test_legal)):
            _, outputs = evaluate(net, batch)
            wrong.append(int(np.sum(~reber.correct(outputs, legal))))
        return wrong

    @staticmethod
    def all_correct(net, task):
        """Whether ``wrong`` would be [0, 0], evaluated a part of each set at a time (the first
        8, 32, 128 strings, then all) and stopped at the first wrong prediction: the same answer,
        since each string is evaluated from a reset state, at a fraction of the cost while the
        net still errs (the check runs every 256 training sequences)."""
        for batch, legal in ((task.train_batch, task.train_legal), (task.test_batch, task.test_legal)):
            done = 0
            for end in sorted({min(m, len(batch)) for m in (8, 32, 128, len(batch))}):
                _, outputs = evaluate(net, batch.take(np.arange(done, end)))
                if not reber.correct(outputs, legal[batch.starts[done]:batch.starts[end]]).all():
                    return False
                done = end
        return True

    def check(self, net, task, rng):
        return ["solved"] if self.all_correct(net, task) else []

    def reason(self, stage, count):
        return f"all correct after {count} sequences"

    def test(self, net, task, rng):
        tr, te = self.wrong(net, task)
        return dict(train_wrong=tr, test_wrong=te)


class Window(Criterion):
    """Exp 2: ``window`` successive training sequences with max |error| < ``abs`` (at every step
    if ``all_steps``, else at the end); its count is the sequences before the window started."""
    stream = True

    def __init__(self, exp):
        super().__init__(exp)
        self.run = 0                    # consecutive good sequences so far

    def scan(self, stats):
        exp = self.exp
        ok = stats[:, ABS_ALL if exp.all_steps else ABS_END] < exp.abs
        runs = _runs(ok, self.run)
        self.run = int(runs[-1])
        i = np.flatnonzero(runs >= exp.window)
        return [(int(i[0]), "solved")] if len(i) else []

    def count(self, n):
        return n - self.exp.window


class ST12(Criterion):
    """Exp 3: ST1 (at most ``st1_wrong`` of ``check_size`` fresh sequences misclassified) and
    ST2 (also their mean |error| < ``st2_mean``) (docs/paper.md §4.3)."""
    final = "st2"

    def measure(self, net, task, rng, n):
        """(misclassified, mean |error|) on n fresh sequences."""
        batch = task.sample(rng, n)
        _, y = _end_outputs(net, batch)
        diff = np.abs(y[:, 0] - end_goal(self.exp, batch))
        return int(np.sum(diff > self.exp.abs)), float(diff.mean())

    def check(self, net, task, rng):
        wrong, mean_abs = self.measure(net, task, rng, self.exp.check_size)
        if wrong > self.exp.st1_wrong:
            return []
        return ["st1", "st2"] if mean_abs < self.exp.st2_mean else ["st1"]

    def reason(self, stage, count):
        return f"ST2 after {count} sequences"

    def test(self, net, task, rng):
        n = self.exp.test_size
        wrong, mean_abs = self.measure(net, task, rng, n)
        out = dict(test_size=n, wrong=wrong, fraction_misclassified=wrong / n)
        out["av_difference" if judged_on_clean(self.exp) else "mean_abs_error"] = mean_abs
        return out


class _LastWindow(Criterion):
    """Criteria on the last ``window`` training sequences' end errors (ST3, n_seq)."""
    stream = True

    def __init__(self, exp):
        super().__init__(exp)
        self.tail_err = np.zeros(0)     # last `window` end errors
        self.tail_bad = np.zeros(0, bool)

    def windows(self, stats):
        """(last index of each window in the chunk, its mean end error, its wrong count) of
        every window that ends in this chunk."""
        exp, w = self.exp, self.exp.window
        err = np.concatenate([self.tail_err, stats[:, ERR_END]])
        bad = np.concatenate([self.tail_bad, stats[:, ABS_END] >= exp.abs])
        off = len(self.tail_err)
        self.tail_err, self.tail_bad = err[-w:], bad[-w:]
        if len(err) < w:
            return None
        csum_err = np.concatenate([[0.0], np.cumsum(err)])
        csum_bad = np.concatenate([[0], np.cumsum(bad)])
        end = np.arange(max(w, off + 1), len(err) + 1)          # windows err[end-w:end]
        mean_err = (csum_err[end] - csum_err[end - w]) / w
        n_bad = csum_bad[end] - csum_bad[end - w]
        return end - 1 - off, mean_err, n_bad


class ST3(_LastWindow):
    """Exp 4 and 6: mean end error of the last ``window`` sequences < ``beta`` and none of
    them wrong (|error| >= ``abs``)."""

    def scan(self, stats):
        got = self.windows(stats)
        if got is None:
            return []
        last, mean_err, n_bad = got
        i = np.flatnonzero((mean_err < self.exp.beta) & (n_bad == 0))
        return [(int(last[i[0]]), "solved")] if len(i) else []


class NSeq(_LastWindow):
    """Exp 5: fewer than n of the last ``window`` sequences wrong, for every n of ``nseq``."""

    def __init__(self, exp):
        super().__init__(exp)
        self.todo = [f"nseq{n}" for n in exp.nseq]
        self.final = f"nseq{exp.nseq[-1]}" if exp.nseq else ""

    def scan(self, stats):
        got, hits = self.windows(stats), []
        if got is None:
            return hits
        last, _, n_bad = got
        for stage in list(self.todo):
            i = np.flatnonzero(n_bad < int(stage[4:]))
            if not len(i):
                break
            hits.append((int(last[i[0]]), stage))
            self.todo.remove(stage)
        return hits


KINDS = {"reber": Reber, "window": Window, "st12": ST12, "st3": ST3, "nseq": NSeq}


def of(exp):
    """A fresh criterion object for ``exp`` (stream criteria carry state from chunk to chunk)."""
    return KINDS[exp.criterion](exp)


def final_stage(exp):
    """Name of the stage whose sequence count is the trial's 'success after'."""
    return of(exp).final

