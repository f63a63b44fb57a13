#!/usr/bin/python3
"""fit_vmath.py — fits the erf polynomials of compiler/codegen/vmath.c.

Usage: /usr/bin/python3 tools/fit_vmath.py   (needs numpy; Debian's python3-numpy)
Prints the coefficients as C float literals (highest degree first, as vmath.c's poly()
takes them) and the error of the float32 evaluation (Horner with fma, as vmath.c does)
against Python's double-precision math.erf. The output was pasted into vmath.c; rerun
it only to change a degree or an interval.

  erf(x) = x + x * P(x^2)                       |x| < 1    (P = erf(x)/x - 1, relative)
  erf(x) = 1 - exp(-x^2) * Q(|x| - 2)           1 <= |x| < 3.92
                                                (Q ~ erfc(x) exp(x^2), weighted by exp(-x^2),
                                                 i.e. absolute error of erf)
Fits are near-minimax: Lawson's iteratively reweighted least squares on a dense grid.
"""
import math
import numpy as np

f32 = np.float32


def lawson(f, w, t, deg, iters=400):
    """Coefficients c (lowest first) minimising max |w * (sum c_k t^k - f)| on the grid."""
    a = np.stack([t**k for k in range(deg + 1)], 1)
    lw = np.ones_like(t) / len(t)
    for _ in range(iters):
        s = np.sqrt(lw) * w
        c, *_ = np.linalg.lstsq(a * s[:, None], f * s, rcond=None)
        e = np.abs(w * (a @ c - f))
        lw = lw * e
        lw /= lw.sum()
    return c, e.max()


def fma(a, b, c):
    # float32 fma: the double product is exact, the sum rounds once (double rounding is
    # rare enough not to matter for an error estimate)
    return f32(np.float64(a) * np.float64(b) + np.float64(c))


def horner(cs, t):
    p = np.full_like(t, cs[0], dtype=f32)
    for c in cs[1:]:
        p = fma(p, t, f32(c))
    return p


def ulps(y, ref):
    return np.max(np.abs(np.float64(y) - ref) / np.spacing(np.abs(f32(ref))).astype(np.float64))


def show(name, c):
    cs = [f32(v) for v in c[::-1]]
    print("static const float %s[] = {%s};" % (name, ", ".join("%.9ef" % v for v in cs)))
    return cs


def main():
    verf = np.vectorize(math.erf)
    # |x| < 1: relative fit of erf(x)/x - 1 in z = x^2
    x = np.linspace(1e-4, 1.0, 5000)
    f = verf(x) / x - 1
    c, err = lawson(f, 1 / (f + 1), x * x, 6)
    cs = show("erf_small", c)
    xf = f32(np.linspace(1e-4, 1.0, 400001))
    y = fma(xf, horner(cs, xf * xf), xf)
    print("/* fit error %.3g relative; float evaluation %.3f ulp */" % (err, ulps(y, verf(np.float64(xf)))))
    # 1 <= |x| < 3.92: erfc(x) exp(x^2) in t = x - 2, weighted by exp(-x^2)
    x = np.linspace(1.0, 3.92, 4000)
    f = np.array([math.erfc(v) * math.exp(v * v) for v in x])
    c, err = lawson(f, np.exp(-x * x), x - 2, 8)
    cs = show("erf_big", c)
    xf = f32(np.linspace(1.0, 3.92, 400001))
    e = f32(np.exp(-np.float64(xf) ** 2))   # exp(-x^2) correctly rounded; vmath's adds ~1 ulp
    y = fma(-e, horner(cs, xf - f32(2)), f32(1))
    print("/* fit error %.3g absolute; float evaluation %.3f ulp */" % (err, ulps(y, verf(np.float64(xf)))))
    # where erf(x) rounds to 1 in float: erfc(x) < 2^-25
    lo, hi = 3.0, 5.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erfc(mid) >= 2.0**-25 else (lo, mid)
    print("/* erf(x) rounds to 1.0f for x > %.6f */" % hi)


if __name__ == "__main__":
    main()
