"""The untruncated gradient of the 1997 net: the reading 'full' (readings.py).

Same net, same forward pass (eqs. 6-9, the Section-5 timing of docs/paper.md §1.4), same
error convention (e_k = f'(net_k)(d_k - y_k), eq. 19) and same online updates as
``engine.py``; only the gradient differs. The truncation of docs/paper.md §2.1 is dropped:
error also flows from the gates' and cells' net inputs back into the previous step's cell
outputs and gate activations, through every recurrent weight, and on through the CEC.

It is backpropagation through time over the sequence so far:
- update="sequence": one backward pass over the whole sequence at its end gives
  -1/2 dE_total/dw with the weights held fixed (eq. 16's E summed over the steps);
- update="step": at every step t with a target, a backward pass from t to the sequence start
  gives the gradient of E(t). Each step's recurrent weights are the ones that step used
  (they are kept as a history), so this is exactly the gradient that online RTRL carries
  forward, at O(t) instead of O(n^4) per step.

Cost: a backward step costs about what a forward step does, so update="sequence" costs about
2-3x the truncated engine per step; update="step" costs O(T) backward steps per target step.
Memory: the activations of one sequence, O(T x hidden units).
"""
import numpy as np
from numba import njit

from .engine import _apply_all, net_args
from .online import NO_ERROR, add_error, check_update, mark_diverged, new_stats, sigma, store
from .tasks import dense_batch


@njit(cache=True, error_model="numpy")
def _backward(i_end, all_targets, t0, W_k, H_in, H_out, H_c, S, n_in, n_v, input_gates, output_gates, shortcuts,
              x_idx, x_val, targets, Z, YIN, YOUT, GG, DG, HS, DHS, YC, YK,
              dW_in, dW_out, dW_c, dW_k):
    """Add -1/2 dE/dw to dW_*: E summed over steps 0..i_end if all_targets, else E(i_end) alone.

    Step i of the sequence is batch step t0 + i. H_*[i] are the recurrent columns of the
    weights step i used; Z[i] its recurrent sources z(i-1); the other arrays its activations.
    """
    B = H_in.shape[1]
    C = H_c.shape[1]
    nr = H_in.shape[2]
    K = W_k.shape[0]
    nnz = x_idx.shape[1]
    bias = dW_in.shape[1] - 1
    dz = np.zeros(nr)          # -1/2 dE/dz(i): into y_c, y_in, y_out of step i, from step i+1
    dz_prev = np.zeros(nr)
    ds = np.zeros(C)           # -1/2 dE/ds(i); the CEC passes it on unchanged (ds(i)/ds(i-1) = 1)
    dyc = np.zeros(C)
    dyin = np.zeros(B)
    dyout = np.zeros(B)
    d_in = np.zeros(B)
    d_out = np.zeros(B)
    d_c = np.zeros(C)
    e_k = np.zeros(K)
    for i in range(i_end, -1, -1):
        t = t0 + i
        for c in range(C):
            dyc[c] = dz[c]
        for j in range(B):
            dyin[j] = dz[C + j]
            dyout[j] = dz[C + B + j]
        if all_targets or i == i_end:
            has = False
            for k in range(K):
                d = targets[t, k]
                if d == d:
                    e_k[k] = YK[i, k] * (1.0 - YK[i, k]) * (d - YK[i, k])        # eq. 19
                    has = True
                else:
                    e_k[k] = 0.0
            if has:
                for k in range(K):                                           # eq. 22
                    for c in range(C):
                        dW_k[k, c] += e_k[k] * YC[i, c]
                        dyc[c] += W_k[k, c] * e_k[k]
                    if shortcuts:
                        for m in range(nnz):
                            dW_k[k, C + x_idx[t, m]] += e_k[k] * x_val[t, m]
                    dW_k[k, n_v - 1] += e_k[k]
        for c in range(C):                                   # y_c = y_out h(s), s += y_in g
            j = c // S
            dyout[j] += dyc[c] * HS[i, c]
            ds[c] += dyc[c] * YOUT[i, j] * DHS[i, c]
            dyin[j] += ds[c] * GG[i, c]
            d_c[c] = ds[c] * YIN[i, j] * DG[i, c]
        for j in range(B):
            d_in[j] = dyin[j] * YIN[i, j] * (1.0 - YIN[i, j]) if input_gates else 0.0
            d_out[j] = dyout[j] * YOUT[i, j] * (1.0 - YOUT[i, j]) if output_gates else 0.0
        # net inputs' sources u(i) = [x(i), z(i-1), 1]: weight changes and error into z(i-1)
        for r in range(nr):
            dz_prev[r] = 0.0
        for j in range(B):
            for m in range(nnz):
                dW_in[j, x_idx[t, m]] += d_in[j] * x_val[t, m]
                dW_out[j, x_idx[t, m]] += d_out[j] * x_val[t, m]
            for r in range(nr):
                dW_in[j, n_in + r] += d_in[j] * Z[i, r]
                dW_out[j, n_in + r] += d_out[j] * Z[i, r]
                dz_prev[r] += H_in[i, j, r] * d_in[j] + H_out[i, j, r] * d_out[j]
            dW_in[j, bias] += d_in[j]
            dW_out[j, bias] += d_out[j]
        for c in range(C):
            for m in range(nnz):
                dW_c[c, x_idx[t, m]] += d_c[c] * x_val[t, m]
            for r in range(nr):
                dW_c[c, n_in + r] += d_c[c] * Z[i, r]
                dz_prev[r] += H_c[i, c, r] * d_c[c]
            dW_c[c, bias] += d_c[c]
        for r in range(nr):
            dz[r] = dz_prev[r]


@njit(cache=True, error_model="numpy")
def _kernel(W_in, W_out, W_c, W_f, W_k, M_in, M_out, M_c, M_f, M_k, S, n_in, ga, gb, ha, hb, h_identity,
            z0, input_gates, output_gates, forget_gates, shortcuts, lr, step_update,
            x_idx, x_val, targets, starts, stats):
    """Online learning with the full gradient over sequences starts[q]:starts[q+1].

    Same arguments, statistics and return value as ``engine._kernel`` with learn=True; no
    forget gates (W_f has 0 rows; ``train_batch`` refuses them).
    """
    B = W_in.shape[0]
    C = W_c.shape[0]
    K = W_k.shape[0]
    n_src = W_in.shape[1]
    n_v = W_k.shape[1]
    nnz = x_idx.shape[1]
    nr = C + 2 * B
    bias = n_src - 1
    L = 1
    for q in range(len(starts) - 1):
        L = max(L, starts[q + 1] - starts[q])
    Z = np.zeros((L, nr))
    YIN = np.zeros((L, B))
    YOUT = np.zeros((L, B))
    GG = np.zeros((L, C))
    DG = np.zeros((L, C))
    HS = np.zeros((L, C))
    DHS = np.zeros((L, C))
    YC = np.zeros((L, C))
    YK = np.zeros((L, K))
    H_in = np.zeros((L, B, nr))
    H_out = np.zeros((L, B, nr))
    H_c = np.zeros((L, C, nr))
    s = np.zeros(C)
    z = np.zeros(nr)
    dW_in = np.zeros_like(W_in)
    dW_out = np.zeros_like(W_out)
    dW_c = np.zeros_like(W_c)
    dW_k = np.zeros_like(W_k)

    for q in range(len(starts) - 1):
        t0 = starts[q]
        z[:] = z0
        s[:] = 0.0
        err = NO_ERROR
        for t in range(t0, starts[q + 1]):
            i = t - t0
            for r in range(nr):
                Z[i, r] = z[r]
                for j in range(B):
                    H_in[i, j, r] = W_in[j, n_in + r]
                    H_out[i, j, r] = W_out[j, n_in + r]
                for c in range(C):
                    H_c[i, c, r] = W_c[c, n_in + r]
            for j in range(B):                                       # gates, eqs. 6-7
                acc = W_in[j, bias]
                acc2 = W_out[j, bias]
                for m in range(nnz):
                    acc += W_in[j, x_idx[t, m]] * x_val[t, m]
                    acc2 += W_out[j, x_idx[t, m]] * x_val[t, m]
                for r in range(nr):
                    acc += W_in[j, n_in + r] * z[r]
                    acc2 += W_out[j, n_in + r] * z[r]
                YIN[i, j] = sigma(acc) if input_gates else 1.0
                YOUT[i, j] = sigma(acc2) if output_gates else 1.0
            for c in range(C):                                       # CEC and cell output, eqs. 8-9
                j = c // S
                acc = W_c[c, bias]
                for m in range(nnz):
                    acc += W_c[c, x_idx[t, m]] * x_val[t, m]
                for r in range(nr):
                    acc += W_c[c, n_in + r] * z[r]
                sg = sigma(acc)
                GG[i, c] = ga * sg + gb
                DG[i, c] = ga * sg * (1.0 - sg)
                s[c] += YIN[i, j] * GG[i, c]
                if h_identity:
                    HS[i, c] = s[c]
                    DHS[i, c] = 1.0
                else:
                    sh = sigma(s[c])
                    HS[i, c] = ha * sh + hb
                    DHS[i, c] = ha * sh * (1.0 - sh)
                YC[i, c] = YOUT[i, j] * HS[i, c]
            for c in range(C):
                z[c] = YC[i, c]
            for j in range(B):
                z[C + j] = YIN[i, j] if input_gates else 0.0
                z[C + B + j] = YOUT[i, j] if output_gates else 0.0
            has = False
            for k in range(K):
                if targets[t, k] == targets[t, k]:
                    has = True
            if not has:
                continue
            E = 0.0
            mx = 0.0
            for k in range(K):                                       # outputs and error
                acc = W_k[k, n_v - 1]
                for c in range(C):
                    acc += W_k[k, c] * YC[i, c]
                if shortcuts:
                    for m in range(nnz):
                        acc += W_k[k, C + x_idx[t, m]] * x_val[t, m]
                YK[i, k] = sigma(acc)
                d = targets[t, k]
                if d == d:
                    diff = d - YK[i, k]
                    E += diff * diff
                    mx = max(mx, abs(diff))
            err = add_error(err, E, mx)
            if step_update:
                _backward(i, False, t0, W_k, H_in, H_out, H_c, S, n_in, n_v, input_gates, output_gates, shortcuts,
                          x_idx, x_val, targets, Z, YIN, YOUT, GG, DG, HS, DHS, YC, YK,
                          dW_in, dW_out, dW_c, dW_k)
                ok = _apply_all(W_in, W_out, W_c, W_k, M_in, M_out, M_c, M_k, dW_in, dW_out, dW_c, dW_k, lr)
                if not ok:
                    mark_diverged(stats, q)
                    return q
        if not store(stats, q, *err):
            return q
        if not step_update:
            _backward(starts[q + 1] - t0 - 1, True, t0, W_k, H_in, H_out, H_c, S, n_in, n_v,
                      input_gates, output_gates, shortcuts, x_idx, x_val, targets, Z, YIN, YOUT, GG, DG, HS, DHS,
                      YC, YK, dW_in, dW_out, dW_c, dW_k)
            ok = _apply_all(W_in, W_out, W_c, W_k, M_in, M_out, M_c, M_k, dW_in, dW_out, dW_c, dW_k, lr)
            if not ok:
                return q
    return -1


def train_batch(net, batch, lr, update="sequence"):
    """Online learning with the full gradient over every sequence of ``batch``, in order.

    Returns (stats, diverged) exactly like ``engine.train_batch``.
    """
    check_update(update)
    if net.forget_gates:
        raise ValueError("the full gradient is not implemented for forget gates (the 2000 cell); "
                         "use the truncated gradient (engine.py)")
    stats = new_stats(len(batch))
    bad = _kernel(*net_args(net, batch), float(lr), update == "step",
                  batch.x_idx, batch.x_val, batch.targets, batch.starts, stats)
    return stats, int(bad)


def full_gradient(net, xs, targets):
    """-1/2 dE_total/dw of one sequence with the weights held fixed (the 'full' counterpart of
    ``network.truncated_gradient``), masked like the weights."""
    xs, targets = net.check_inputs(xs, targets)
    before = {k: w.copy() for k, w in net.weights.items()}
    try:
        train_batch(net, dense_batch([(xs, targets)]), 1.0, "sequence")
        return {k: net.weights[k] - before[k] for k in before}
    finally:
        net.weights = before
