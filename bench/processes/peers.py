"""bench/processes: Python's process pools doing N trivial calls.

    python3 peers.py pool|executor [N [WORKERS]]

pool:     multiprocessing.Pool(WORKERS), one apply_async per call.
executor: concurrent.futures.ProcessPoolExecutor(WORKERS), one submit per
          call.

Each call runs one() in a worker, which returns the integer 1. All N calls
are submitted, then every result is collected and checked. The clock
covers starting the pool, the calls and shutting the pool down (as
hd_plan_run covers forking and reaping its workers). Prints one line:
microseconds per call. N defaults to 100000 and WORKERS to 2.
"""

import concurrent.futures
import multiprocessing
import sys
import time


def one(i):
    return 1


def run_pool(n, workers):
    t0 = time.perf_counter()
    with multiprocessing.Pool(workers) as pool:
        pending = [pool.apply_async(one, (i,)) for i in range(n)]
        total = sum(r.get() for r in pending)
        pool.close()
        pool.join()
    return time.perf_counter() - t0, total


def run_executor(n, workers):
    t0 = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers) as ex:
        pending = [ex.submit(one, i) for i in range(n)]
        total = sum(f.result() for f in pending)
    return time.perf_counter() - t0, total


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("pool", "executor"):
        sys.stderr.write("usage: peers.py pool|executor [N [WORKERS]]\n")
        return 2
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    run = run_pool if sys.argv[1] == "pool" else run_executor
    seconds, total = run(n, workers)
    if total != n:
        sys.stderr.write("peers.py: %d of %d calls returned 1\n" % (total, n))
        return 1
    print("%.3f" % (seconds * 1e6 / n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
