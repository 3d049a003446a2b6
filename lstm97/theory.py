"""Section 3 of the paper in code: why conventional recurrent units lose their error, and the CEC.

A conventional unit j with a self-connection w and logistic f, y(t) = f(w y(t-1) + x(t)),
scales an error sent back q steps by  prod_{m=1..q} f'(net(t-m)) w  (eq. 1/2 for a single
unit, SPEC §5.1). With f' <= 0.25 this vanishes whenever |w| < 4.0. The CEC (f = identity,
w = 1.0, SPEC §5.2) scales it by exactly 1.
"""
import numpy as np

from .network import sigmoid


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
