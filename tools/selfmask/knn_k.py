"""kNN accuracies of a run's embeddings/ beyond the protocol's k 200 (issue 18, docs/experiments.md, self-masking the
SwAV backbone): the reference's weighted kNN (SPEC §7.1: cosine, top-k, weights exp(sim/T), argmax of class sums) on
the run's raw backbone features of the test images against its train bank, with k 200 and 20, T 0.1 and 0.02, and
with the bank's mean subtracted first. Needs PyTorch (/usr/bin/python3 on this project's machines).

Usage: /usr/bin/python3 tools/selfmask/knn_k.py RUN_DIR [RUN_DIR...]
"""
import sys
import numpy as np
import torch


def knn(tr, trl, te, tel, k=200, T=0.1, C=10, chunk=1000):
    tr = torch.from_numpy(tr)
    trl = torch.from_numpy(trl.astype(np.int64))
    right = 0
    for i in range(0, len(te), chunk):
        sim = torch.from_numpy(te[i:i + chunk]) @ tr.T
        w, idx = torch.topk(sim, k, dim=1)
        onehot = torch.zeros(sim.shape[0], k, C).scatter_(2, trl[idx].unsqueeze(-1), 1)
        pred = (onehot * torch.exp(w / T).unsqueeze(-1)).sum(1).argmax(1).numpy()
        right += int((pred == tel[i:i + chunk]).sum())
    return right / len(te)


def nrm(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


if __name__ == '__main__':
    torch.set_num_threads(1)
    for d in sys.argv[1:]:
        load = lambda n: np.load(f'{d}/embeddings/{n}.npy')
        tr, te = load('train_raw').astype(np.float32), load('test_raw').astype(np.float32)
        trl, tel = load('train_labels'), load('test_labels')
        mu = tr.mean(0)
        cols = {
            'k200': knn(nrm(tr), trl, nrm(te), tel),
            'k20': knn(nrm(tr), trl, nrm(te), tel, k=20),
            'k200 T0.02': knn(nrm(tr), trl, nrm(te), tel, T=0.02),
            'k200 centred': knn(nrm(tr - mu), trl, nrm(te - mu), tel),
        }
        print(d, ' | '.join(f'{k} {100 * v:.1f}%' for k, v in cols.items()))
