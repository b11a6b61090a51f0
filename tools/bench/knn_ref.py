"""PyTorch reference timing for tools/bench/knn.ts: the same chunked weighted kNN as @smn/knn's knnPredict
(docs/method.md#knn: cosine similarity, top-k, weights exp(sim/T), class sums, argmax), on random data.

Usage: /usr/bin/python3 tools/bench/knn_ref.py --n 50000 --d 2048 --q 10000 [--k 200] [--reps 1]
   or: /usr/bin/python3 tools/bench/knn_ref.py '{"n": 50000, "d": 2048, "q": 10000}'   (tools/bench/_harness.ts)
Prints one JSON line: {"seconds": [...], "peak_rss_mb": ..., ...}.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

from _harness import peak_rss_mib


def knn_predict(queries, bank, labels, k, t, num_classes, qchunk, bchunk):
    n = bank.shape[0]
    k = min(k, n)
    preds = torch.empty(queries.shape[0], dtype=torch.long)
    for qs in range(0, queries.shape[0], qchunk):
        q = F.normalize(queries[qs:qs + qchunk], dim=1)
        top_v = top_l = None
        for bs in range(0, n, bchunk):
            b = F.normalize(bank[bs:bs + bchunk], dim=1)
            sim = q @ b.t()
            v, i = sim.topk(min(k, b.shape[0]), dim=1)
            lab = labels[bs:bs + bchunk][i]
            if top_v is None:
                top_v, top_l = v, lab
            else:
                v = torch.cat([top_v, v], 1)
                lab = torch.cat([top_l, lab], 1)
                top_v, j = v.topk(k, dim=1)
                top_l = torch.gather(lab, 1, j)
        w = (top_v / t).exp()
        scores = torch.zeros(q.shape[0], num_classes).scatter_add_(1, top_l, w)
        preds[qs:qs + qchunk] = scores.argmax(1)
    return preds


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--n', type=int, default=50000)
    p.add_argument('--d', type=int, default=2048)
    p.add_argument('--q', type=int, default=10000)
    p.add_argument('--k', type=int, default=200)
    p.add_argument('--t', type=float, default=0.1)
    p.add_argument('--classes', type=int, default=100)
    p.add_argument('--qchunk', type=int, default=1024)
    p.add_argument('--bchunk', type=int, default=8192)
    p.add_argument('--reps', type=int, default=1)
    p.add_argument('--threads', type=int, default=2)
    argv = sys.argv[1:]
    if len(argv) == 1 and argv[0].lstrip().startswith('{'):
        argv = [x for kv in json.loads(argv[0]).items() for x in (f'--{kv[0]}', str(kv[1]))]
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    bank = torch.rand(a.n, a.d, generator=g) - 0.5
    queries = torch.rand(a.q, a.d, generator=g) - 0.5
    labels = torch.randint(0, a.classes, (a.n,), generator=g)
    secs = []
    with torch.no_grad():
        for _ in range(a.reps):
            t0 = time.perf_counter()
            knn_predict(queries, bank, labels, a.k, a.t, a.classes, a.qchunk, a.bchunk)
            secs.append(time.perf_counter() - t0)
    print(json.dumps({
        'seconds': secs,
        'peak_rss_mb': peak_rss_mib(),
        'data_mb': (bank.numel() + queries.numel()) * 4 / 2**20,
        'threads': a.threads,
        'torch': torch.__version__,
    }))


if __name__ == '__main__':
    main()
