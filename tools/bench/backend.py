"""PyTorch reference for tools/bench/backend.ts: the same masked conv stack, one training step timed.

Usage: /usr/bin/python3 tools/bench/backend.py '{"configs": [...], "threads": 2}'
Prints one JSON object on its last stdout line: {"torch", "threads", "results": [{name, median_ms, ...}]}.
"""
import json
import sys

import torch
import torch.nn.functional as F

from _harness import peak_rss_mib, time_ms


class MaskedWeight(torch.autograd.Function):
    """W * M / sqrt(mean M), M = (S > 0); straight-through score gradient including the mean(M) term."""

    @staticmethod
    def forward(ctx, scores, weight):
        m = (scores > 0).float()
        n = m.numel()
        mean = m.mean().clamp_min(1.0 / n)  # all-zero mask: the weight is all zeros, avoid 0/0
        ctx.save_for_backward(weight, m, mean)
        return weight * m / mean.sqrt()

    @staticmethod
    def backward(ctx, g):
        weight, m, mean = ctx.saved_tensors
        n = m.numel()
        gw = g * weight
        ds = gw / mean.sqrt() - (gw * m).sum() * mean.pow(-1.5) / (2 * n)
        return ds, None


def build(cfg, gen):
    layers = []
    cin = cfg["inCh"]

    def layer(shape, fan_in, stride):
        w = torch.randn(*shape, generator=gen) * (2.0 / fan_in) ** 0.5
        s = (torch.randn(*shape, generator=gen) + 0.1).requires_grad_(True)
        return {"w": w, "s": s, "stride": stride}

    widths = cfg["widths"]
    layers.append(layer((widths[0], cin, 3, 3), 9 * cin, 1))
    cin = widths[0]
    for si, w in enumerate(widths):
        for j in range(cfg["convsPerStage"]):
            layers.append(layer((w, cin, 3, 3), 9 * cin, 2 if (j == 0 and si > 0) else 1))
            cin = w
    fc = layer((cfg["classes"], cin), cin, 1)
    return layers, fc


def loss_fn(layers, fc, x, y):
    h = x
    for l in layers:
        h = F.conv2d(h, MaskedWeight.apply(l["s"], l["w"]), stride=l["stride"], padding=1)
        h = F.relu(F.batch_norm(h, None, None, training=True, eps=1e-5))
    h = h.mean(dim=(2, 3))
    logits = F.linear(h, MaskedWeight.apply(fc["s"], fc["w"]))
    return F.cross_entropy(logits, y)


def bench(cfg):
    gen = torch.Generator().manual_seed(1)
    layers, fc = build(cfg, gen)
    x = torch.randn(cfg["batch"], cfg["inCh"], cfg["size"], cfg["size"], generator=gen)
    y = torch.randint(0, cfg["classes"], (cfg["batch"],), generator=gen)
    params = [l["s"] for l in layers] + [fc["s"]]
    opt = torch.optim.SGD(params, lr=0.1)
    loss0 = None

    def step():
        nonlocal loss0
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(layers, fc, x, y)
        loss.backward()
        opt.step()
        v = loss.item()
        if loss0 is None:
            loss0 = v

    return {
        "name": cfg["name"],
        **time_ms(step, cfg["warmup"], cfg["iters"]),
        "loss0": loss0,
        "max_rss_mib": peak_rss_mib(),
    }


def bench_convs(shapes, iters):
    """conv forward, input gradient and weight gradient of a 3x3 conv, NCHW, as PyTorch runs them."""
    out = []
    for c in shapes:
        x = torch.randn(c["batch"], c["cin"], c["hw"], c["hw"])
        w = torch.randn(c["cout"], c["cin"], 3, 3)
        s = c["stride"]
        y = F.conv2d(x, w, stride=s, padding=1)
        dy = torch.randn_like(y)
        def bwd(mask):
            return torch.ops.aten.convolution_backward(dy, x, w, None, [s, s], [1, 1], [1, 1], False, [0, 0], 1, mask)

        ops = {
            "fwd": lambda: F.conv2d(x, w, stride=s, padding=1),
            "dX": lambda: bwd([True, False, False]),
            "dW": lambda: bwd([False, True, False]),
        }
        for op, fn in ops.items():
            with torch.no_grad():
                out.append({"name": c["name"], "op": op, **time_ms(fn, 1, iters)})
    return out


def main():
    args = json.loads(sys.argv[1])
    torch.set_num_threads(int(args.get("threads", 2)))
    if "convs" in args:
        print(json.dumps({"torch": torch.__version__, "results": bench_convs(args["convs"], int(args.get("iters", 5)))}))
        return
    results = [bench(c) for c in args["configs"]]
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
