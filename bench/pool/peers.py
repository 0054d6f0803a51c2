"""bench/pool: Python's multiprocessing.Pool(2) on N tiny items.

    python3 peers.py map|imap|imap_unordered N [CHUNKSIZE|auto]

inc(x) returns x + 1. The N integers 0 .. N-1 are made and the pool of 2
worker processes is started before the clock starts (Python's workers
then live as long as the pool; hodos forks its workers for each run of
calls, inside its clock). The clock covers one call over all N items:
pool.map() until it returns its list, or pool.imap()/imap_unordered()
consumed to its end (each result checked as it comes, a comparison each).
A map's list is checked after the clock stops.

CHUNKSIZE omitted: Python's default, which for map is automatic
(ceil(N / (4 * workers))) and for imap and imap_unordered is 1. "auto"
gives imap and imap_unordered the chunksize map would choose.

One untimed call over min(N, 1000) items warms the pool up, then calls
are repeated until they have taken 0.2 s in all (at most 1000 calls, at
least one) and the median is printed, as bench_pool does. Prints one
line: microseconds per item, calls.
"""

import multiprocessing
import statistics
import sys
import time

WORKERS = 2
MIN_SECONDS = 0.2
MAX_CALLS = 1000
WARM_ITEMS = 1000


def inc(x):
    return x + 1


def map_chunksize(n, workers):
    """What Pool.map chooses when chunksize is None (Lib/multiprocessing/
    pool.py, _map_async)."""
    chunksize, extra = divmod(n, workers * 4)
    return chunksize + 1 if extra else max(chunksize, 1)


def one_call(pool, call, items, chunksize):
    n = len(items)
    if call == "map":
        t0 = time.perf_counter()
        out = pool.map(inc, items, chunksize)
        t = time.perf_counter() - t0
        if out != list(range(1, n + 1)):
            raise SystemExit("peers.py: map: wrong results")
        return t
    got = 0
    if call == "imap":
        t0 = time.perf_counter()
        for v in pool.imap(inc, items, chunksize):
            got += 1
            if v != got:
                raise SystemExit("peers.py: imap: wrong result %d" % got)
        t = time.perf_counter() - t0
    else:
        seen = bytearray(n + 1)
        t0 = time.perf_counter()
        for v in pool.imap_unordered(inc, items, chunksize):
            if not 0 < v <= n or seen[v]:
                raise SystemExit("peers.py: imap_unordered: wrong result")
            seen[v] = 1
            got += 1
        t = time.perf_counter() - t0
    if got != n:
        raise SystemExit("peers.py: %s: %d of %d results" % (call, got, n))
    return t


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in (
        "map",
        "imap",
        "imap_unordered",
    ):
        sys.stderr.write(
            "usage: peers.py map|imap|imap_unordered N [CHUNKSIZE|auto]\n"
        )
        return 2
    call = sys.argv[1]
    n = int(sys.argv[2])
    chunksize = sys.argv[3] if len(sys.argv) > 3 else None
    if chunksize == "auto":
        chunksize = map_chunksize(n, WORKERS)
    elif chunksize is not None:
        chunksize = int(chunksize)
    elif call != "map":
        chunksize = 1  # imap's and imap_unordered's default
    items = list(range(n))
    warm = items[:WARM_ITEMS]
    warm_chunksize = chunksize
    if sys.argv[3:] == ["auto"]:
        warm_chunksize = map_chunksize(len(warm), WORKERS)
    with multiprocessing.Pool(WORKERS) as pool:
        one_call(pool, call, warm, warm_chunksize)
        times = []
        while len(times) < MAX_CALLS and (not times or sum(times) < MIN_SECONDS):
            times.append(one_call(pool, call, items, chunksize))
    print("%.4f %d" % (statistics.median(times) * 1e6 / n, len(times)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
