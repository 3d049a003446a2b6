"""Section 3 of the paper in code: why conventional recurrent units lose their error, and the CEC.

A conventional unit j with a self-connection w and logistic f, y(t) = f(w y(t-1) + x(t)),
scales an error sent back q steps by  prod_{m=1..q} f'(net(t-m)) w  (eq. 1/2 for a single
unit, docs/paper.md §5.1). With f' <= 0.25 this vanishes whenever |w| < 4.0. The CEC (f = identity,
w = 1.0, docs/paper.md §5.2) scales it by exactly 1.

For the memory cell (Section 4, Appendix A.2): ``cec_error_flow`` measures that factor on a
real LSTM97 through its truncated gradient; ``hand_wired_memory`` and ``memory_sequence``
build a gated (or naive, ungated) memory block by hand to show what the gates are for.
"""
import numpy as np

from .network import LSTM97, _Sequence, sigmoid, squash_g, truncated_gradient


def self_recurrent_unit(w, xs, y0=0.0):
    """Run y(t) = f(w*y(t-1) + x(t)); returns (y, net) over time."""
    y, ys, nets = y0, [], []
    for x in xs:
        net = w * y + x
        y = sigmoid(net)
        nets.append(net)
        ys.append(y)
    return np.array(ys), np.array(nets)


def error_scale(w, nets):
    """The paper's factor prod_m f'(net(t-m)) * w for an error flowing back over ``nets`` (eq. 2)."""
    fp = sigmoid(nets) * (1.0 - sigmoid(nets))
    return np.cumprod(fp * w)


def bptt_error_flow(w, xs):
    """∂y(T)/∂y(t) for t = T-1, ..., 0 measured by backpropagating through the unit.

    Element q-1 is the scaling of an error that travels q steps back from the end.
    """
    ys, nets = self_recurrent_unit(w, xs)
    flows, delta = [], 1.0
    for t in range(len(xs) - 1, 0, -1):
        fp = sigmoid(nets[t]) * (1.0 - sigmoid(nets[t]))
        delta = delta * fp * w            # y(t) = f(w y(t-1) + x): dy(t)/dy(t-1) = f'(net(t)) w
        flows.append(delta)
    return np.array(flows)


# ---------------------------------------------------------------------------------------------
# The memory cell (Section 4, Appendix A.1-A.2): measurements and hand-wired illustrations
# ---------------------------------------------------------------------------------------------
def cec_error_flow(net, T):
    """Factor by which each cell's CEC scales an error on its way from step T back to step 1.

    Measured on the real net with its truncated gradient (eqs. 19-28). Input 0 is 1.0 at step 1
    and 0.0 afterwards (all other inputs stay 0); output 0 has the target 1.0 at step T only.
    The cell-input trace of the weight w_{c,0} (eq. 27) then holds nothing but its step-1 term
    g'(net_c(1)) y^in(1), and eq. 28 gives the weight's change as e_s(T) times that term, times
    whatever the CEC did to the error over the T-1 steps between. This returns, per cell,

        Δw_{c,0} / (e_s(T) · g'(net_c(1)) · y^in(1)),   e_s(T) from eq. 23,

    which Appendix A.2 (eqs. 30, 35; docs/paper.md §5.4) says is exactly 1 for any T. NaN where e_s(T)
    is 0 (a cell that sends no error back). Needs a net with at least one input.
    """
    T = int(T)
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    xs = np.zeros((T, net.n_in))
    xs[0, 0] = 1.0
    targets = np.full((T, net.n_out), np.nan)
    targets[-1, 0] = 1.0
    grad = truncated_gradient(net, xs, targets)["W_c"][:, 0]

    W, blk = net.weights, net.blk
    run = _Sequence(net)
    run.step(xs[0])
    first = squash_g(W["W_c"] @ run.u, net.g)[1] * run.y_in[blk]          # eq. 27 at step 1
    for x in xs[1:]:
        run.step(x)
    y0 = run.y_k[0]
    back = W["W_k"][0, :net.C] * y0 * (1.0 - y0) * (1.0 - y0)              # Σ_k w_kc e_k, eq. 19
    e_s = run.y_out[blk] * run.dhs * back                                  # eq. 23 at step T
    denom = e_s * first
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom != 0.0, grad / np.where(denom != 0.0, denom, 1.0), np.nan)


def hand_wired_memory(block_size=1, gated=True, gain=20.0):
    """One memory block of ``block_size`` cells with weights set by hand (Section 4; eqs. 6-9).

    An illustration, not a trained net. Inputs are [value_1 .. value_S, marker, trigger]; there
    are S logistic output units and output v reads cell v with weight 1. Cell v gets
    net_c = value_v, so a step adds y^in · g(value_v) to its state (eq. 7, g of eq. 5). There is
    no recurrence and every other weight is 0.

    gated=True   the input gate opens only on the marker, net_in = gain·(2·marker − 1), and the
                 output gate only on the trigger, net_out = gain·(2·trigger − 1): the gates
                 that Section 4 adds to resolve the weight conflicts of Section 3.2.
    gated=False  the naive CEC of Section 3.2: both gates are held open by a bias of +gain
                 (y^in = y^out = f(gain) ≈ 1), so every input is written and always read.
    """
    S = int(block_size)
    net = LSTM97(S + 2, S, 1, S, bias="all", recurrent=False, init=0.0)
    W = {k: np.zeros_like(w) for k, w in net.weights.items()}
    marker, trigger, bias = S, S + 1, net.n_src - 1
    if gated:
        W["W_in"][0, marker], W["W_in"][0, bias] = 2.0 * gain, -gain
        W["W_out"][0, trigger], W["W_out"][0, bias] = 2.0 * gain, -gain
    else:
        W["W_in"][0, bias] = gain
        W["W_out"][0, bias] = gain
    for v in range(S):
        W["W_c"][v, v] = 1.0
        W["W_k"][v, v] = 1.0
    net.set_weights(W)
    return net


def memory_sequence(values, rng, marker=10, trigger=510, length=520, noise=1.0):
    """Inputs for ``hand_wired_memory``: store ``values`` at step ``marker``, read them at ``trigger``.

    Every value channel carries distractors uniform in [-noise, noise] at every step except the
    marker step, where it carries the value to store. Steps are 0-based row indices.
    """
    values = np.atleast_1d(np.asarray(values, dtype=float))
    S = len(values)
    if not 0 <= marker < trigger < length:
        raise ValueError("need 0 <= marker < trigger < length")
    xs = np.zeros((length, S + 2))
    xs[:, :S] = rng.uniform(-noise, noise, (length, S))
    xs[marker, :S] = values
    xs[marker, S] = 1.0
    xs[trigger, S + 1] = 1.0
    return xs


def h_prime(s):
    """h'(s) = 2σ(s)(1 − σ(s)) for the centered h of eq. 4, computed as 2e^{-|s|}/(1 + e^{-|s|})².

    The same value as the core's derivative, but it does not round to 0 once σ(s) rounds to 1
    (|s| ≳ 37), so the size of a drifted state's h'(s) (Section 4, "internal state drift";
    Appendix A.2) can still be read off. The learning rule itself uses the core's value.
    """
    e = np.exp(-np.abs(np.asarray(s, dtype=float)))
    return 2.0 * e / (1.0 + e) ** 2
