"""Staffing advice with the Erlang C model (M/M/N queue, infinite patience).

Formulas (Erlang 1917; e.g. Gans, Koole, Mandelbaum, "Telephone call centers", M&SOM 5(2) 2003, §4.1):
offered load A = λ · S (arrivals per second × mean service time in seconds), N servers (windows), N > A;

- Erlang B by the stable recursion B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1));
- P(wait) = C(N, A) = N·B / (N − A·(1 − B));
- mean wait W = C · S / (N − A);
- share answered within t seconds = 1 − C · exp(−(N − A) · t / S).

Check vector (``tests/server/reports/test_report_staffing.py``): A = 10, N = 14, S = 180 s →
P(wait) 0.17413, W 7.836 s, share within 20 s 0.88835.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of Erlang B (recursive, numerically stable)."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def p_wait(servers: int, load: float) -> float:
    """Erlang C: the probability an arrival has to wait (1.0 when the load is not below the servers)."""
    if servers <= load:
        return 1.0
    b = erlang_b(servers, load)
    return servers * b / (servers - load * (1 - b))


def mean_wait(servers: int, load: float, service_s: float) -> float:
    """Mean wait in seconds over all arrivals (inf when unstable)."""
    if servers <= load:
        return math.inf
    return p_wait(servers, load) * service_s / (servers - load)


def within(servers: int, load: float, service_s: float, seconds: float) -> float:
    """Share of arrivals whose wait is at most ``seconds``."""
    if servers <= load:
        return 0.0
    return 1 - p_wait(servers, load) * math.exp(-(servers - load) * seconds / service_s)


@dataclass(frozen=True)
class Advice:
    """Windows needed for one service and hour."""

    arrivals_per_hour: float
    service_s: float
    load: float
    windows: int
    p_wait: float
    mean_wait_s: float
    within_target: float


def windows_needed(arrivals_per_hour: float, service_s: float, *, target_s: float, share: float = 0.8,
                   max_windows: int = 200) -> Advice:
    """The fewest windows so that ``share`` of arrivals wait at most ``target_s`` seconds."""
    load = arrivals_per_hour / 3600 * service_s
    n = max(1, math.floor(load) + 1)
    if load == 0:
        return Advice(arrivals_per_hour, service_s, 0.0, 0, 0.0, 0.0, 1.0)
    while n < max_windows and within(n, load, service_s, target_s) < share:
        n += 1
    return Advice(arrivals_per_hour, service_s, load, n, p_wait(n, load), mean_wait(n, load, service_s),
                  within(n, load, service_s, target_s))
