"""Explain rules for Conv2D and MaxPool2D (``engine/conv.py``): one output of a convolution as
its window · its kernel + bias, ``dW``/``db`` as sums over the windows, ``dx`` of one pixel as
the sum over every window that covers it; which input won a max-pool window, and where ``dx``
sends each window's gradient.

Indices are the tensors' logical ``(N, C, H, W)`` ones, whatever memory order the layers keep
them in (``conv.py`` stores images pixel-major behind that shape; numpy's indexing sees through
it). Positions inside the padded input are named by the unpadded ``x``'s indices; a window cell
outside ``x`` is padding (0 for a convolution, −∞ for max-pooling: it never wins).

This module imports numpy only; importing it registers the rules (``engine/__init__.py``).
"""

from __future__ import annotations

import numpy as np

from .conv import Conv2D, MaxPool2D
from .explain import (
    Context,
    Entry,
    Explanation,
    Grid,
    Index,
    feeding,
    fmt_index,
    num,
    paren,
    products,
    rule,
)

#: at most this many input channels get their window and kernel drawn as grids (the ones whose
#: products are largest); the terms always hold every channel
GRID_CHANNELS = 2


def _covering(pos: int, size: int, stride: int, out: int) -> range:
    """The output positions along one axis whose window (``size`` wide, every ``stride``) holds
    the padded input position ``pos``."""
    lo = max(0, -(-(pos - size + 1) // stride))
    hi = min(out - 1, pos // stride)
    return range(lo, hi + 1)


def _inside(h: int, w: int, x: np.ndarray) -> bool:
    return 0 <= h < x.shape[2] and 0 <= w < x.shape[3]


def _span(a: int, b: int) -> str:
    """``−2…2``: a range of positions, with a real minus sign as the numbers have."""
    return f"{num(a)}…{num(b)}"


def _zeros_note(terms: list[tuple[str, float]]) -> list[str]:
    """How many products are 0 (a dout that a ReLU or a max-pool blocked, a 0 pixel): the
    formula line shows the first products, which may well be those."""
    zeros = sum(1 for _, v in terms if v == 0)
    return [f"{zeros} of the {len(terms)} terms are 0 (a factor is 0)"] if zeros else []


def _stride_note(s: int, p: int) -> str:
    return f"s = stride = {s}" + (f"; x_pad = x with {p} row(s)/column(s) of 0 around it, "
                                  f"x_pad[n,c,h+{p},w+{p}] = x[n,c,h,w]" if p else "")


# -- Conv2D --------------------------------------------------------------------------------------
@rule(Conv2D, "y")
def _conv_y(ctx: Context, idx: Index) -> Explanation:
    n, f, i, j = idx
    x, W, b = ctx.x(), ctx.param("W"), ctx.param("b")
    s, p = ctx.layer.stride, ctx.layer.pad
    _, C, FH, FW = W.shape
    h0, w0 = i * s - p, j * s - p
    terms: list[tuple[str, float]] = []
    inputs: list[Entry] = []
    pairs: list[tuple[float, float]] = []
    padded = 0
    for c in range(C):
        for a in range(FH):
            for q in range(FW):
                h, w, wv = h0 + a, w0 + q, W[f, c, a, q]
                if _inside(h, w, x):
                    xv = x[n, c, h, w]
                    terms.append((f"x[{n},{c},{h},{w}]·W[{f},{c},{a},{q}] = "
                                  f"{paren(xv)}·{paren(wv)}", xv * wv))
                    inputs += feeding((ctx.entry("x", (n, c, h, w)), xv),
                                      (ctx.entry("W", (f, c, a, q)), wv))
                    pairs.append((xv, wv))
                else:
                    padded += 1
                    terms.append((f"0 (padding)·W[{f},{c},{a},{q}]", 0.0))
    terms.append((f"b[{f}]", b[f]))
    notes = [_stride_note(s, p)]
    if padded:
        notes.append(f"the window reaches outside x (rows {_span(h0, h0 + FH - 1)}, columns "
                     f"{_span(w0, w0 + FW - 1)} of 0…{x.shape[2] - 1}, 0…{x.shape[3] - 1}): its "
                     f"{padded} padding cell(s) are 0 and add nothing; the kernel entries "
                     "over them do not feed this output")
    grids, more = _conv_grids(x, W, n, f, h0, w0)
    notes += more
    return ctx.explanation(
        idx, "y[n,f,i,j] = Σ_c,p,q x_pad[n,c,i·s+p,j·s+q]·W[f,c,p,q] + b[f]",
        f"y[{n},{f},{i},{j}] = Σ_c,p,q x_pad[{n},c,{i * s}+p,{j * s}+q]·W[{f},c,p,q] + b[{f}] "
        f"= {products(pairs)} + {paren(b[f])}",
        terms, inputs + [ctx.entry("b", (f,))], grids=grids, notes=notes)


def _conv_grids(x: np.ndarray, W: np.ndarray, n: int, f: int, h0: int, w0: int
                ) -> tuple[list[Grid], list[str]]:
    """The window (padding as 0) and the kernel of the channels that contribute most."""
    _, C, FH, FW = W.shape
    xp = np.zeros((C, FH, FW))
    for a in range(FH):
        for q in range(FW):
            if _inside(h0 + a, w0 + q, x):
                xp[:, a, q] = x[n, :, h0 + a, w0 + q]
    weight = np.abs(xp * W[f]).sum(axis=(1, 2))
    chosen = sorted(np.argsort(-weight, kind="stable")[:GRID_CHANNELS].tolist())
    grids = []
    for c in chosen:
        grids.append(Grid(f"x[{n},{c}] window, rows {_span(h0, h0 + FH - 1)}, columns "
                          f"{_span(w0, w0 + FW - 1)}", xp[c]))
        grids.append(Grid(f"W[{f},{c}] kernel", np.array(W[f, c], dtype=np.float64)))
    notes = []
    if C > len(chosen):
        notes.append(f"grids of {len(chosen)} of {C} channels ({', '.join(map(str, chosen))}: "
                     "the largest products); the terms hold every channel")
    return grids, notes


@rule(Conv2D, "dW")
def _conv_dW(ctx: Context, idx: Index) -> Explanation:
    f, c, a, q = idx
    x, dout = ctx.x(), ctx.dout()
    s, p = ctx.layer.stride, ctx.layer.pad
    N, _, OH, OW = dout.shape
    rows = [(i, i * s + a - p) for i in range(OH) if 0 <= i * s + a - p < x.shape[2]]
    cols = [(j, j * s + q - p) for j in range(OW) if 0 <= j * s + q - p < x.shape[3]]
    terms: list[tuple[str, float]] = []
    inputs: list[Entry] = []
    pairs: list[tuple[float, float]] = []
    # a whole batch of windows (18,432 terms on mnist-cnn's debug batch): the numbers read as
    # Python floats at once, not entry by entry
    ii, hh = [i for i, _ in rows], [h for _, h in rows]
    jj, ww = [j for j, _ in cols], [w for _, w in cols]
    D = dout[:, f][:, ii][:, :, jj].tolist()
    X = x[:, c][:, hh][:, :, ww].tolist()
    name = ctx.name
    for n in range(N):
        for r, (i, h) in enumerate(rows):
            for k, (j, w) in enumerate(cols):
                d, xv = D[n][r][k], X[n][r][k]
                terms.append((f"dout[{n},{f},{i},{j}]·x[{n},{c},{h},{w}] = "
                              f"{paren(d)}·{paren(xv)}", d * xv))
                inputs += feeding((Entry(name, "dout", (n, f, i, j)), d),
                                  (Entry(name, "x", (n, c, h, w)), xv))
                pairs.append((d, xv))
    formula = "dW[f,c,p,q] = Σ_n,i,j dout[n,f,i,j]·x_pad[n,c,i·s+p,j·s+q]"
    substituted = (f"dW[{f},{c},{a},{q}] = Σ_n,i,j dout[n,{f},i,j]·x_pad[n,{c},i·{s}+{a},"
                   f"j·{s}+{q}] = {products(pairs)}")
    if ctx.decays("W"):
        wv = ctx.param("W")[idx]
        formula += " + λ·W[f,c,p,q]"
        substituted += f" + {num(ctx.l2, 4)}·{paren(wv)}"
        terms.append((f"λ·W[{f},{c},{a},{q}] = {num(ctx.l2, 4)}·{paren(wv)}  (L2)",
                      ctx.l2 * wv))
        inputs.append(ctx.entry("W", idx))
    notes = [_stride_note(s, p), f"one term per sample n and output position (i, j): "
             f"{N}·{len(rows)}·{len(cols)} = {N * len(rows) * len(cols)}", *_zeros_note(terms)]
    skipped = N * (OH * OW - len(rows) * len(cols))
    if skipped:
        notes.append(f"{skipped} window(s) put W[{f},{c},{a},{q}] over padding (0): no term")
    return ctx.explanation(idx, formula, substituted, terms, inputs, notes=notes)


@rule(Conv2D, "db")
def _conv_db(ctx: Context, idx: Index) -> Explanation:
    (f,) = idx
    dout = ctx.dout()
    N, _, OH, OW = dout.shape
    cells = [(n, i, j) for n in range(N) for i in range(OH) for j in range(OW)]
    values = dout[:, f].ravel().tolist()  # in the cells' order
    shown = " + ".join(paren(d) for d in values[:4])
    if len(cells) > 4:
        shown += f" + … ({len(cells)} terms)"
    terms = [(f"dout[{n},{f},{i},{j}]", d) for (n, i, j), d in zip(cells, values, strict=True)]
    return ctx.explanation(
        idx, "db[f] = Σ_n,i,j dout[n,f,i,j]", f"db[{f}] = {shown}", terms,
        [Entry(ctx.name, "dout", (n, f, i, j)) for n, i, j in cells],
        notes=[f"b[{f}] is added to every output of filter {f}: its gradient is the sum of "
               f"dout over {N} sample(s) × {OH}×{OW} positions", *_zeros_note(terms)])


@rule(Conv2D, "dx")
def _conv_dx(ctx: Context, idx: Index) -> Explanation:
    n, c, h, w = idx
    dout, W = ctx.dout(), ctx.param("W")
    s, p = ctx.layer.stride, ctx.layer.pad
    F, _, FH, FW = W.shape
    _, _, OH, OW = dout.shape
    windows = [(i, j) for i in _covering(h + p, FH, s, OH) for j in _covering(w + p, FW, s, OW)]
    terms: list[tuple[str, float]] = []
    inputs: list[Entry] = []
    pairs: list[tuple[float, float]] = []
    for f in range(F):
        for i, j in windows:
            a, q = h + p - i * s, w + p - j * s
            d, wv = dout[n, f, i, j], W[f, c, a, q]
            terms.append((f"dout[{n},{f},{i},{j}]·W[{f},{c},{a},{q}] = {paren(d)}·{paren(wv)}",
                          d * wv))
            inputs += feeding((ctx.entry("dout", (n, f, i, j)), d),
                              (ctx.entry("W", (f, c, a, q)), wv))
            pairs.append((d, wv))
    notes = [_stride_note(s, p)]
    if windows:
        notes.append(f"x[{n},{c},{h},{w}] is in {len(windows)} window(s) "
                     f"({_list(windows)}) of each of {F} filter(s): one term per filter and "
                     "window")
        notes += _zeros_note(terms)
    else:
        notes.append(f"no window covers x[{n},{c},{h},{w}] (the stride {s} skips it past "
                     f"the {FH}×{FW} kernel): it feeds no output, dx = 0")
    return ctx.explanation(
        idx, "dx[n,c,h,w] = Σ over the windows (i,j) that cover (h,w), Σ_f "
             "dout[n,f,i,j]·W[f,c,h+pad−i·s,w+pad−j·s]",
        f"dx[{n},{c},{h},{w}] = {products(pairs)}", terms, inputs, notes=notes)


def _list(cells: list[tuple[int, int]], limit: int = 4) -> str:
    shown = ", ".join(f"({i},{j})" for i, j in cells[:limit])
    return shown + (f", … {len(cells) - limit} more" if len(cells) > limit else "")


@rule(Conv2D, "col")
def _conv_col(ctx: Context, idx: Index) -> Explanation:
    r, k = idx
    x, W = ctx.x(), ctx.param("W")
    s, p = ctx.layer.stride, ctx.layer.pad
    _, C, FH, FW = W.shape
    OH, OW = ctx.y().shape[2:]
    n, i, j = np.unravel_index(r, (x.shape[0], OH, OW))
    c, a, q = np.unravel_index(k, (C, FH, FW))
    h, w = i * s + a - p, j * s + q - p
    formula = "col[(n,i,j), (c,p,q)] = x_pad[n,c,i·s+p,j·s+q]   (im2col: one window per row)"
    where = f"row {r} = window (n,i,j) = ({n},{i},{j}), column {k} = (c,p,q) = ({c},{a},{q})"
    if not _inside(h, w, x):
        return ctx.explanation(idx, formula, f"{where}: x_pad there is padding → 0",
                               [("0 (padding)", 0.0)], [], notes=[_stride_note(s, p)])
    at = fmt_index((n, c, h, w))
    return ctx.explanation(idx, formula, f"{where} → x{at}",
                           [(f"x{at}", x[n, c, h, w])], [ctx.entry("x", (n, c, h, w))],
                           notes=[_stride_note(s, p)])


# -- MaxPool2D -----------------------------------------------------------------------------------
def _pool_window(ctx: Context, n: int, c: int, i: int, j: int) -> tuple[np.ndarray, int, int]:
    """The (size × size) window of output (i, j) with padding as −∞, and its top-left corner
    in x's coordinates."""
    x, k = ctx.x(), ctx.layer.size
    h0, w0 = i * ctx.layer.stride - ctx.layer.pad, j * ctx.layer.stride - ctx.layer.pad
    win = np.full((k, k), -np.inf)
    for a in range(k):
        for q in range(k):
            if _inside(h0 + a, w0 + q, x):
                win[a, q] = x[n, c, h0 + a, w0 + q]
    return win, h0, w0


def _winner(ctx: Context, n: int, c: int, i: int, j: int) -> tuple[int, int]:
    """Where the window's max sits (row, column inside the window), as the code chose it: its
    cached arg-max, else the first maximum in row-major order (what the code picks on ties)."""
    arg = ctx.cache("argmax")
    if arg is not None:
        return divmod(int(arg[n, c, i, j]), ctx.layer.size)
    win, _, _ = _pool_window(ctx, n, c, i, j)
    return divmod(int(np.argmax(win)), ctx.layer.size)


@rule(MaxPool2D, "y")
def _pool_y(ctx: Context, idx: Index) -> Explanation:
    n, c, i, j = idx
    k, s, p = ctx.layer.size, ctx.layer.stride, ctx.layer.pad
    win, h0, w0 = _pool_window(ctx, n, c, i, j)
    a, q = _winner(ctx, n, c, i, j)
    h, w = h0 + a, w0 + q
    at = fmt_index((n, c, h, w))
    notes = [f"s = stride = {s}" + (f"; padding ({p}) is −∞: it never wins" if p else "")]
    ties = [(r, t) for r, t in zip(*np.nonzero(win == win[a, q]), strict=True) if (r, t) != (a, q)]
    if ties:
        notes.append(f"a tie: {len(ties)} other cell(s) of the window hold the same "
                     f"{num(win[a, q])}; the code's arg-max takes the first, row by row: "
                     f"cell ({a},{q}) = x{at}")
    return ctx.explanation(
        idx, "y[n,c,i,j] = max over p,q < size of x_pad[n,c,i·s+p,j·s+q]",
        f"y[{n},{c},{i},{j}] = max of the {k}×{k} window at rows {_span(h0, h0 + k - 1)}, "
        f"columns {_span(w0, w0 + k - 1)} = x{at} (cell {a},{q}) = {num(win[a, q])}",
        [(f"x{at}  (the max of the window)", win[a, q])], [ctx.entry("x", (n, c, h, w))],
        grids=[Grid(f"x[{n},{c}] window, rows {_span(h0, h0 + k - 1)}, columns "
                    f"{_span(w0, w0 + k - 1)} ([ ] the max)", win, {(a, q)})],
        notes=notes)


@rule(MaxPool2D, "dx")
def _pool_dx(ctx: Context, idx: Index) -> Explanation:
    n, c, h, w = idx
    k, s, p = ctx.layer.size, ctx.layer.stride, ctx.layer.pad
    dout = ctx.dout()
    _, _, OH, OW = dout.shape
    tiles = ctx.layer._geometry(ctx.x().shape)[2]
    windows = [(i, j) for i in _covering(h + p, k, s, OH) for j in _covering(w + p, k, s, OW)]
    won = [(i, j) for i, j in windows
           if _winner(ctx, n, c, i, j) == (h + p - i * s, w + p - j * s)]
    at = fmt_index(idx)
    terms = [(f"dout[{n},{c},{i},{j}]  (window {i},{j}: x{at} is its max)", dout[n, c, i, j])
             for i, j in won]
    # dx = Σ over the windows of [the window routes here]·dout: the routing (the cache the
    # backward reads) and the dout of each window are the two factors of its product
    inputs: list[Entry] = []
    for i, j in windows:
        d, routed = dout[n, c, i, j], float((i, j) in won)
        via = ctx.entry("switches", idx) if tiles else ctx.entry("argmax", (n, c, i, j))
        inputs += feeding((ctx.entry("dout", (n, c, i, j)), d), (via, routed))
    if tiles:  # backward routes through the switches: dx = switches · dout of the one window
        decided = f"switches{at} = {bool(ctx.cache('switches')[idx])}"
    else:  # overlapping windows or padding: through each window's arg-max
        decided = "the arg-max of each window that holds it"
    if won:
        notes = [f"x{at} is the max of {len(won)} of the {len(windows)} window(s) that hold it "
                 f"({_list(won)}): each sends its dout here ({decided})"]
        substituted = f"dx{at} = " + " + ".join(f"dout[{n},{c},{i},{j}]" for i, j in won[:4])
        shown = [dout[n, c, i, j] for i, j in won[:4]]
        substituted += (" + …" if len(won) > 4 else "") + \
            f" = {' + '.join(map(paren, shown)) if len(won) > 1 else num(shown[0])}"
    else:
        winners = ", ".join(
            f"({i},{j}) → x{fmt_index((n, c, i * s - p + a, j * s - p + q))}"
            for i, j in windows[:3] for a, q in [_winner(ctx, n, c, i, j)])
        notes = [f"x{at} is not the max of any window: dx = 0 ({decided}; "
                 + (f"the windows that hold it and their max: {winners}"
                    + (", …" if len(windows) > 3 else "") if windows else "no window holds it")
                 + ")"]
        substituted = f"dx{at} = 0"
    return ctx.explanation(
        idx, "dx[n,c,h,w] = Σ dout[n,c,i,j] over the windows (i,j) whose max is x[n,c,h,w]",
        substituted, terms, inputs, notes=notes)


@rule(MaxPool2D, "switches")
def _pool_switches(ctx: Context, idx: Index) -> Explanation:
    n, c, h, w = idx
    k, s, p = ctx.layer.size, ctx.layer.stride, ctx.layer.pad
    _, _, OH, OW = ctx.y().shape
    windows = [(i, j) for i in _covering(h + p, k, s, OH) for j in _covering(w + p, k, s, OW)]
    won = [(i, j) for i, j in windows
           if _winner(ctx, n, c, i, j) == (h + p - i * s, w + p - j * s)]
    value = bool(ctx.cache("switches")[idx])
    inputs: list[Entry] = []
    for i, j in windows:
        _, h0, w0 = _pool_window(ctx, n, c, i, j)
        for a in range(k):
            for q in range(k):
                e = ctx.entry("x", (n, c, h0 + a, w0 + q))
                if _inside(h0 + a, w0 + q, ctx.x()) and e not in inputs:
                    inputs.append(e)
    at = fmt_index(idx)
    said = (f"x{at} is the max of window(s) {_list(won)}" if won
            else f"x{at} is the max of none of the {len(windows)} window(s) that hold it")
    return ctx.explanation(idx, "switches = True where x is the max of a window (the first "
                           "maximum on ties)", f"switches{at} = {value}: {said}",
                           [(said, float(value))], inputs)


@rule(MaxPool2D, "argmax")
def _pool_argmax(ctx: Context, idx: Index) -> Explanation:
    n, c, i, j = idx
    k = ctx.layer.size
    win, h0, w0 = _pool_window(ctx, n, c, i, j)
    a, q = _winner(ctx, n, c, i, j)
    at = fmt_index((n, c, h0 + a, w0 + q))
    inputs = [ctx.entry("x", (n, c, h0 + r, w0 + t)) for r in range(k) for t in range(k)
              if _inside(h0 + r, w0 + t, ctx.x())]
    return ctx.explanation(
        idx, "argmax[n,c,i,j] = p·size + q of the window's max (the first on ties)",
        f"argmax{fmt_index(idx)} = {a}·{k} + {q}: x{at} = {num(win[a, q])} is the max",
        [(f"cell ({a},{q}) of the window: {a}·{k} + {q}", float(a * k + q))], inputs,
        grids=[Grid(f"x[{n},{c}] window ([ ] the max)", win, {(a, q)})])
