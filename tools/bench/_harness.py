"""Shared by the PyTorch reference scripts of tools/bench (the counterpart of _harness.ts)."""
import resource
import statistics
import time


def peak_rss_mib():
    """VmHWM: unlike ru_maxrss it is not inherited from the (large) Node parent across fork+exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_ms(fn, warmup, iters):
    """Runs fn warmup times, then times iters calls: {median_ms, min_ms, max_ms, n}."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "n": len(times)}
