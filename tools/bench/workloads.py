# PyTorch reference for tools/bench/workloads.ts: the same workloads, written as the reference code runs them.
# Argument: JSON {"threads": 2, "workloads": [{name, depth, size, batch, classes, mode, warmup, iters}]}.
# Modes: 'mask' (scores 1.0, threshold 0, W*M/sqrt(mean M) with the straight-through gradient through mean(M) as
# autograd gives it, masked head, SGD momentum 0.9 lr 50 on the scores), 'fft' (every parameter, SGD momentum 0.9
# lr 0.05, linear head), 'infer' (eval-mode forward under no_grad). torchvision ResNets (ImageNet stem), channels-last,
# BatchNorm in train mode for the training steps. Prints one JSON object: {"results": [{name, median_ms, min_ms,
# max_ms, n, peak_rss_mib}]}.
import json, sys
import torch, torchvision
from _harness import peak_rss_mib, time_ms

cfg = json.loads(sys.argv[1])
torch.set_num_threads(int(cfg.get("threads", 2)))


class GetSubnet(torch.autograd.Function):
    @staticmethod
    def forward(ctx, s):
        return (s > 0).float()

    @staticmethod
    def backward(ctx, g):
        return g


def functional_call(model, params, x):
    f = torch.func.functional_call if hasattr(torch, "func") else torch.nn.utils.stateless.functional_call
    return f(model, params, (x,))


def build(w):
    torch.manual_seed(0)
    ctor = {18: torchvision.models.resnet18, 50: torchvision.models.resnet50}[w["depth"]]
    model = ctor(num_classes=1000)
    feat = model.fc.in_features
    model.fc = torch.nn.Identity()
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(w["batch"], 3, w["size"], w["size"]).contiguous(memory_format=torch.channels_last)
    y = torch.arange(w["batch"]) % w["classes"]
    mode = w["mode"]
    if mode == "infer":
        model.eval()

        def step():
            with torch.no_grad():
                return model(x).sum().item()

        return step
    if mode == "fft":
        head = torch.nn.Linear(feat, w["classes"])
        params = list(model.parameters()) + list(head.parameters())
        opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)

        def step():
            loss = torch.nn.functional.cross_entropy(head(model(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss.item()

        return step
    masked = [(n, p) for n, p in model.named_parameters() if "conv" in n or "downsample" in n]
    for _, p in model.named_parameters():
        p.requires_grad_(False)
    scores = {n: torch.ones_like(p, requires_grad=True) for n, p in masked}
    w0 = {n: p.detach().clone() for n, p in masked}
    head_w = torch.empty(w["classes"], feat).uniform_(-1 / feat**0.5, 1 / feat**0.5)
    head_s = torch.ones(w["classes"], feat, requires_grad=True)
    opt = torch.optim.SGD(list(scores.values()) + [head_s], lr=50, momentum=0.9)

    def step():
        ws = {}
        for n, _ in masked:
            m = GetSubnet.apply(scores[n])
            ws[n] = w0[n] * m / torch.sqrt(m.mean())
        out = functional_call(model, ws, x)
        mh = GetSubnet.apply(head_s)
        logits = out @ (head_w * mh / torch.sqrt(mh.mean())).t()
        loss = torch.nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


results = []
for w in cfg["workloads"]:
    results.append({"name": w["name"], **time_ms(build(w), w["warmup"], w["iters"]), "peak_rss_mib": peak_rss_mib()})
print(json.dumps({"results": results, "torch": torch.__version__}))
