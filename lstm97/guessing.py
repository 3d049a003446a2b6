"""Random weight guessing (RG), the companion papers' baseline (docs/paper.md §5.8, §4.3).

The procedure: draw every weight uniformly in [-100, 100]; if the net solves the task, stop;
otherwise draw again, until a budget of guesses is used up. Nothing is learned. The paper says
RG solves 3a and 3b faster than the published methods, and that 3c, 4, 5 and 6 were designed
so that it cannot (Section 5.3; docs/paper.md §5.8).

Architectures (the NIPS 1996 companion, as docs/paper.md §5.8 reports it; all units logistic
in [0, 1], activations reset to 0 at each sequence start), built as ``rnn.RNN`` nets whose
outputs are recurrent units:
- A1: fully connected: every hidden and output unit sees the inputs, every hidden and output
  unit at t-1 (itself included), and n biased hidden units. Our reading: "n biased hidden units"
  means the output units have no bias (A2 is the one where "all units are biased").
- A2: each hidden unit sees the inputs, the output unit(s) and itself; each output unit sees
  the inputs and all other units (every hidden unit, the other outputs), not itself; all units
  biased. n = 10: our reading of the companion paper ("A2 is like A1 with n = 10"); the text
  the project has lost that number (docs/paper.md §5.8).
With several outputs (6a: 4) "the output" is read as every output unit. Timing as in rnn.py:
a unit sees x(t) at the step it is computed, recurrent sources at t-1; the net's answer is
the output units' activation at the last step.

The success test of a guess is the LSTM row's stopping test on fresh sequences, so both are
judged alike (docs/paper.md §4.3, §4.4, §4.6):
- Experiment 3 (criterion "st12"): ST1 and ST2 on ``check_size`` (256) sequences: at most
  ``st1_wrong`` misclassified (|error| > ``abs``; 3c: against the noise-free target) and mean
  |error| below ``st2_mean``.
- Experiments 4 and 6 (criterion "st3"): on ``window`` (2000) sequences, none wrong (every
  output's end error below ``abs``) and the mean end-of-sequence E = Σ_k (d_k - y_k)^2 below
  ``beta``: ST3 with the window of training sequences replaced by a test window, since a guess
  has no training history.
Each block of guesses shares one freshly drawn set of sequences. Its first ``SCREEN`` sequences
are tried first: a guess with more wrong ones than the test allows in the whole set is rejected
there (exact: the count can only grow), the rest run on the whole set. "Sequences evaluated"
counts both, the screen as its full SCREEN sequences per guess: the size of the test, not the
work done, since the screen is compiled (``screen_wrong``) and stops a guess at its first
wrong sequence too many, as almost every guess is. The whole-set test of the few survivors is
NumPy.
"""
import numpy as np
from numba import njit

from .criteria import end_goal
from .nets import GUESS_RANGE as RANGE, architecture  # noqa: F401  (architecture: the A1/A2 nets)
SCREEN = 16
BLOCK = 512


def _sig(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))                # the logistic, without overflow at |x| ~ 1e4


def end_outputs(W_h, mask, n_in, H, batch):
    """Outputs at the last step of every sequence, for G guesses at once.

    W_h (G, N, n_src) the guesses' weights (masked), batch: the sequences. Returns (G, S, K).
    """
    W_h = W_h * mask
    G, N, _ = W_h.shape
    S, lengths = len(batch), batch.lengths
    L = int(lengths.max())
    X = np.zeros((S, L, batch.n_in))
    for i in range(S):
        X[i, :lengths[i]] = batch.dense(i)[0]
    Wx = np.transpose(W_h[:, :, :n_in], (0, 2, 1))      # (G, n_in, N)
    Wr = np.transpose(W_h[:, :, n_in:n_in + N], (0, 2, 1))
    b = W_h[:, None, :, -1]                             # (G, 1, N)
    a = np.zeros((G, S, N))
    out = np.zeros((G, S, N - H))
    for t in range(L):
        a = _sig(np.matmul(X[None, :, t], Wx) + np.matmul(a, Wr) + b)
        ends = lengths == t + 1
        if ends.any():
            out[:, ends] = a[:, ends, H:]
    return out


@njit(cache=True)
def screen_wrong(W, X, lengths, goal, tol, at_tol, allowed, H):
    """Per guess, its number of wrong sequences, counted until it exceeds ``allowed``.

    ``end_outputs`` and ``judge`` in one compiled loop, guess by guess: W (G, N, n_src) masked
    weights, X (S, L, n_in) dense inputs, goal (S, K) the end targets of the outputs judged
    (st12: output 0 only). A sequence is wrong if some |goal - y| > tol (``at_tol``: >= tol).
    The sums run in end_outputs' order (inputs, then recurrent sources, then bias)."""
    G, N, _ = W.shape
    S, _, n_in = X.shape
    K = goal.shape[1]
    bias = W.shape[2] - 1
    wrong = np.zeros(G, np.int64)
    a = np.zeros(N)
    new = np.zeros(N)
    for g in range(G):
        for i in range(S):
            a[:] = 0.0
            for t in range(lengths[i]):
                for u in range(N):
                    zx = 0.0
                    for j in range(n_in):
                        zx += X[i, t, j] * W[g, u, j]
                    zr = 0.0
                    for j in range(N):
                        zr += a[j] * W[g, u, n_in + j]
                    new[u] = 0.5 * (1.0 + np.tanh(0.5 * (zx + zr + W[g, u, bias])))
                a[:] = new
            for k in range(K):
                d = abs(goal[i, k] - a[H + k])
                if d > tol or (at_tol and d == tol):
                    wrong[g] += 1
                    break
            if wrong[g] > allowed:
                break
    return wrong


def count_wrong(exp, W, mask, n_in, H, batch, allowed=None):
    """``judge``'s wrong counts of guesses W on ``batch``, via ``screen_wrong``: exact up to where
    a count exceeds ``allowed`` (default ``allowed_wrong(exp)``, all the screen needs)."""
    lengths = batch.lengths
    X = np.zeros((len(batch), int(lengths.max()), batch.n_in))
    for i in range(len(batch)):
        X[i, :lengths[i]] = batch.dense(i)[0]
    if exp.criterion == "st12":
        goal, at_tol = end_goal(exp, batch)[:, None], False
    elif exp.criterion == "st3":
        goal, at_tol = batch.end_targets(), True
    else:
        raise ValueError(f"guessing has no success test for criterion {exp.criterion!r}")
    return screen_wrong(W * mask, X, lengths, np.ascontiguousarray(goal, dtype=np.float64),
                        exp.abs, at_tol, allowed_wrong(exp) if allowed is None else allowed, H)


def judge(exp, y, batch):
    """Per guess: (number wrong, passes the whole test) for end outputs y (G, S, K)."""
    if exp.criterion == "st12":
        diff = np.abs(y[:, :, 0] - end_goal(exp, batch)[None])
        wrong = np.sum(diff > exp.abs, axis=1)
        return wrong, (wrong <= exp.st1_wrong) & (diff.mean(axis=1) < exp.st2_mean)
    if exp.criterion == "st3":
        err = batch.end_targets()[None] - y
        wrong = np.sum(np.abs(err).max(axis=2) >= exp.abs, axis=1)
        return wrong, (wrong == 0) & ((err ** 2).sum(axis=2).mean(axis=1) < exp.beta)
    raise ValueError(f"guessing has no success test for criterion {exp.criterion!r}")


def allowed_wrong(exp):
    return exp.st1_wrong if exp.criterion == "st12" else 0


def set_size(exp):
    return exp.check_size if exp.criterion == "st12" else exp.window


def search(exp, task, net, rng, data_rng):
    """Guess until a net passes ``judge`` or ``exp.budget`` guesses are spent.

    Returns (guesses, sequences evaluated, steps evaluated, the solving weights or None).
    ``net`` gives the architecture (its masks); weights are drawn from ``rng``.
    """
    mask = net.masks["W_h"]
    n = seqs = steps = 0
    while n < exp.budget:
        G = min(BLOCK, exp.budget - n)
        W = rng.uniform(-RANGE, RANGE, (G,) + mask.shape)
        batch = task.sample(data_rng, set_size(exp))
        screen = batch.take(np.arange(min(SCREEN, len(batch))))
        wrong = count_wrong(exp, W, mask, net.n_in, net.H, screen)
        alive = np.flatnonzero(wrong <= allowed_wrong(exp))
        seqs += G * len(screen)
        steps += G * int(screen.starts[-1])
        ok = np.zeros(0, bool)
        if len(alive):
            _, ok = judge(exp, end_outputs(W[alive], mask, net.n_in, net.H, batch), batch)
            rest = len(batch) - len(screen)
            first = int(np.argmax(ok)) if ok.any() else len(alive)
            counted = alive[:first + 1] if ok.any() else alive    # guesses tried in order
            seqs += len(counted) * rest
            steps += len(counted) * int(batch.starts[-1] - screen.starts[-1])
        if ok.any():
            g = int(alive[np.argmax(ok)])
            seqs -= (G - g - 1) * len(screen)                    # guesses after it never ran
            steps -= (G - g - 1) * int(screen.starts[-1])
            return n + g + 1, seqs, steps, W[g] * mask
        n += G
    return n, seqs, steps, None
