#!/usr/bin/env python3
"""Fits the piecewise polynomials of the forward pass's vectorized erf
(Sources/IngotRuntime/VectorMath.swift) and checks them, evaluated in
float32 as the Swift code does, against float64 math.erf.

usage: python3 tools/fit_erf.py      prints the coefficients and the error

erf is odd; on |x|:
  [0, 0.875)    x · P(x²)          erf(x)/x is smooth and even
  [0.875, 2.25) 1 − Q(|x| − 1.5625) erfc, which is small there
  [2.25, 4)     1 − R(|x| − 3.125)
  [4, ∞)        1                   erfc(4) = 1.5e-8, under half an ulp of 1
Least squares on 6000 Chebyshev nodes per interval, in float64.
"""
import math
import numpy as np

erf, erfc = np.vectorize(math.erf), np.vectorize(math.erfc)
PIECES = [  # (from, to, degree, centre or None for x², function)
    (0.0, 0.875, 7, None, lambda x: erf(x) / np.where(x == 0, 1, x)),
    (0.875, 2.25, 10, 1.5625, erfc),
    (2.25, 4.0, 10, 3.125, erfc),
]


def fit(lo, hi, degree, centre, f, n=6000):
    k = np.arange(n)
    x = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)
    u = x * x if centre is None else x - centre
    coefficients, *_ = np.linalg.lstsq(np.vander(u, degree + 1, increasing=True), f(x), rcond=None)
    return coefficients


def horner32(c, u):
    r = np.full_like(u, np.float32(c[-1]))
    for a in c[-2::-1]:
        r = r * u + np.float32(a)
    return r


def main():
    fits = [fit(*p) for p in PIECES]
    for (lo, hi, degree, centre, _), c in zip(PIECES, fits):
        print(f"[{lo}, {hi}) degree {degree}" + ("" if centre is None else f" around {centre}"))
        print("  [" + ", ".join("%.9e" % v for v in c) + "]")
    x = np.linspace(0, 4.5, 3_000_001).astype(np.float32)
    y = np.where(x < np.float32(0.875), x * horner32(fits[0], x * x),
         np.where(x < np.float32(2.25), np.float32(1) - horner32(fits[1], x - np.float32(1.5625)),
         np.where(x < np.float32(4), np.float32(1) - horner32(fits[2], x - np.float32(3.125)), np.float32(1))))
    err = np.abs(y.astype(np.float64) - erf(x.astype(np.float64)))
    print("max abs error over [0, 4.5] (3M points, float32 evaluation): %.3g" % err.max())


if __name__ == "__main__":
    main()
