#!/usr/bin/env python3
"""Writes QuotaStatus lines for ispeed-publish-quota (quota kind) for every
unit of a registry in one month, as a collector would have published them:
random counts from a seed, each province's and district's count the sum of
its communes', the province's own status once a day (for the cumulative
chart) and a few communes' too (for the commune page's samples per day).
Every status carries distinct agents (a commune's drawn from the seed, a
district's and province's the sum) and the demand fields at its
updated_ms, as the collector computes them.

usage: gen_quota.py REGISTRY MONTH SEED [--province P] [--mean N] [--day D]
--province limits the output to one province; --mean sets the average
count of a commune per class (default 200); --day D stands the figures at
the end of day D of the month (default its last): a commune's count is
then its month's share so far, and no status is later than that day."""
import argparse
import calendar
import csv
import datetime
import random
import sys

ap = argparse.ArgumentParser()
ap.add_argument("registry")
ap.add_argument("month")
ap.add_argument("seed", type=int)
ap.add_argument("--province")
ap.add_argument("--mean", type=int, default=200)
ap.add_argument("--day", type=int)
a = ap.parse_args()

rng = random.Random(a.seed)
# Agents from their own generator: the counts stay those of the same seed
# without them.
arng = random.Random(a.seed + 1)
units = list(csv.DictReader(open(a.registry, encoding="utf-8")))
by_code = {u["code"]: u for u in units}
y, m = map(int, a.month.split("-"))
days = calendar.monthrange(y, m)[1]
last = min(max(a.day or days, 1), days)
# Month start in Vietnam's time (UTC+7), in ms.
start = int(datetime.datetime(y, m, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=7))).timestamp() * 1000)
DAY = 86400000
TARGET = 300
OPS = ["VNPT", "Viettel", "MobiFone", "FPT"]


def province_of(u):
    while u["parent"]:
        u = by_code[u["parent"]]
    return u["code"]


def state(count, expected):
    if count >= TARGET:
        return "MET"
    return "BEHIND" if count < 0.8 * expected else "ON_TRACK"


def line(u, net, count, day, agents, ops=None):
    """The status at the end of day (1-based) with that count."""
    expected = TARGET * day / days
    proj = count * days / day
    updated = start + day * DAY - 3600000
    down = rng.randint(20, 300) * 1000000 if count else 0
    up = rng.randint(5, 100) * 1000000 if count else 0
    lat = round(rng.uniform(5, 60), 1) if count else 0
    f = [u["code"], u["name"], u["level"], u["parent"], province_of(u), a.month, net, str(count), str(TARGET),
         f"{expected:.1f}", state(count, expected), f"{proj:.1f}", str(down), str(up), str(lat), str(updated),
         str(agents)]
    # The demand at updated_ms (common/demand.c's rule).
    needed = max(0, TARGET - count)
    left = (start + days * DAY - updated) / DAY
    elapsed = (updated - start) / DAY
    rate_current = count / elapsed if elapsed >= 1 / 24 else 0.0
    rate_needed = needed / max(left, 1 / 1440) if needed else 0.0
    will = 1 if needed == 0 or rate_current * left >= needed else 0
    f.append(f"demand={needed},{left:.4f},{rate_needed:.4f},{rate_current:.4f},{will}")
    if ops:
        f.append(",".join(f"{k}:{v}" for k, v in ops))
    return "|".join(f)


def split_ops(count):
    left, out = count, []
    for name in OPS[:-1]:
        k = rng.randint(0, left)
        if k:
            out.append((name, k))
        left -= k
    if left:
        out.append((OPS[-1], left))
    return sorted(out, key=lambda x: -x[1])


sums = {}
agent_sums = {}
out = []
daily_communes = 0
for u in units:
    if a.province and province_of(u) != a.province:
        continue
    if u["level"] != "commune":
        continue
    for net in ("fixed", "mobile"):
        mean = a.mean if net == "fixed" else a.mean * 0.6
        count = max(0, int(rng.gauss(mean, mean * 0.6)))
        if daily_communes < 6:
            count = max(count, 30)  # the daily ones have days to draw
        count = count * last // days
        # A fixed agent counts up to 12 a day, a mobile one about half a
        # test a day (its data budget): a few agents, or a few dozen.
        agents = min(count, arng.randint(0, 3) if net == "fixed" else arng.randint(0, 40))
        p = u["parent"]
        while p:
            sums[(p, net)] = sums.get((p, net), 0) + count
            agent_sums[(p, net)] = agent_sums.get((p, net), 0) + agents
            p = by_code[p]["parent"]
        if daily_communes < 6:
            # A few communes publish every day, so the commune page has days.
            for d in range(1, last):
                out.append(line(u, net, count * d // last, d, min(agents, count * d // last)))
        out.append(line(u, net, count, last, agents, split_ops(count)))
    daily_communes += 1
for u in units:
    if u["level"] == "commune" or (a.province and province_of(u) != a.province):
        continue
    for net in ("fixed", "mobile"):
        total = sums.get((u["code"], net), 0)
        agents = agent_sums.get((u["code"], net), 0)
        if u["level"] == "province":
            for d in range(1, last):
                out.append(line(u, net, int(total * (d / last) ** 1.15), d, agents * d // last))
        out.append(line(u, net, total, last, agents))
sys.stdout.write("\n".join(out) + "\n")
