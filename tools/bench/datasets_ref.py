# PyTorch reference for tools/bench/datasets.ts: the same pipelines with torchvision/PIL and torch's DataLoader on the
# same files (a JPEG folder, CIFAR-10 binary batches), one epoch per repetition and worker count; images/s.
# Argument: JSON {"reps": R, "workers": [0, 1, 2], "warmup": bool (two untimed batches per case first), "cases": [{"name", "source": "jpeg"|"cifar", "root", "n", "batch",
# "preset", "size", "groups": [[count, size, smin, smax], ...]}]}. Prints {"results": [{"name", "workers", "rates", "cpu_ms_per_image"}]} (CPU time of all processes per image;
# a worker's start-up is in it).
import glob, json, os, random, resource, sys, time
import numpy as np
import torch
from PIL import Image, ImageFilter
from torchvision import transforms as T

cfg = json.loads(sys.argv[1])
CLIP = ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711])
# SwAV multicrop's statistics, as @smn/datasets IMAGENET_NORM (std[0] = 0.228: the value SwAV's code uses).
IMAGENET = ([0.485, 0.456, 0.406], [0.228, 0.224, 0.225])


class Blur:
    def __init__(self, p=0.5, lo=0.1, hi=2.0):
        self.p, self.lo, self.hi = p, lo, hi

    def __call__(self, img):
        if random.random() >= self.p:
            return img
        return img.filter(ImageFilter.GaussianBlur(radius=random.uniform(self.lo, self.hi)))


def supervised(size):
    return T.Compose([
        T.RandomResizedCrop(size, scale=(1.0, 1.0), interpolation=T.InterpolationMode.BICUBIC),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.4)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomSolarize(128, p=0.2),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize(*CLIP),
    ])


def multicrop(groups):
    trans = []
    for count, size, smin, smax in groups:
        t = T.Compose([
            T.RandomResizedCrop(size, scale=(smin, smax)),
            T.RandomHorizontalFlip(),
            T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
            T.RandomGrayscale(p=0.2),
            Blur(),
            T.ToTensor(),
            T.Normalize(*IMAGENET),
        ])
        trans += [t] * count
    return lambda img: [t(img) for t in trans]


class Files(torch.utils.data.Dataset):
    def __init__(self, paths, tf):
        self.paths, self.tf = paths, tf

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            return self.tf(im.convert("RGB")), 0


class Cifar(torch.utils.data.Dataset):
    def __init__(self, root, n, tf):
        files = sorted(glob.glob(os.path.join(root, "cifar10", "cifar-10-batches-bin", "data_batch_*.bin")))
        raw = np.concatenate([np.fromfile(f, dtype=np.uint8).reshape(-1, 3073) for f in files])[:n]
        self.images = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
        self.labels = raw[:, 0].astype(np.int64)
        self.tf = tf

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.tf(Image.fromarray(self.images[i])), int(self.labels[i])


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


results = []
for c in cfg["cases"]:
    tf = supervised(c["size"]) if c["preset"] == "supervised" else multicrop(c["groups"])
    if c["source"] == "jpeg":
        paths = sorted(glob.glob(os.path.join(c["root"], "train", "*", "*.jpg")))[: c["n"]]
        ds = Files(paths, tf)
    else:
        ds = Cifar(c["root"], c["n"], tf)
    if cfg.get("warmup"):
        # Untimed: the first batches in this process (imports, caches), as smn's side has an untimed epoch.
        for k, _ in enumerate(torch.utils.data.DataLoader(ds, batch_size=c["batch"], num_workers=0, shuffle=False)):
            if k >= 1:
                break
    for workers in cfg.get("workers", [0, 2]):
        rates, cpu = [], []
        for _ in range(cfg["reps"]):
            loader = torch.utils.data.DataLoader(ds, batch_size=c["batch"], num_workers=workers, shuffle=False)
            # CPU time of this process and of the worker processes (counted once they exit, at the end of the epoch).
            c0 = time.process_time() + children_cpu()
            it = iter(loader)  # workers start here, as smn's pool is started before its timing
            t = time.perf_counter()
            count = 0
            for x, _ in it:
                count += len(x[0]) if isinstance(x, list) else len(x)
            rates.append(count / (time.perf_counter() - t))
            del it, loader
            cpu.append((time.process_time() + children_cpu() - c0) * 1000 / count)
        results.append({"name": c["name"], "workers": workers, "rates": rates, "cpu_ms_per_image": cpu})
print(json.dumps({"results": results}))
