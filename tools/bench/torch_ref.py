"""Reference timings for tools/bench/torch.ts: a masked CIFAR ResNet-18 training step in PyTorch, built the same way
as the TypeScript bench (3x3 stem, BasicBlocks [2,2,2,2], 1x1 downsample, BN in train mode, global mean, fc), masks
on every conv/downsample/fc weight as W*(S>0)/sqrt(mean(S>0)) with a straight-through score gradient, scores at 1.0,
SGD momentum 0.9 on scores, BN affine and fc bias, softmax cross-entropy on random inputs/labels.

argv[1]: JSON {"batch":64,"size":32,"classes":100,"width":64,"warmup":2,"steps":3,"threads":2,"channels_last":false,
"bn":"module"|"ops","serve":false}; prints one JSON line {"ms": [...], ...}. With "serve": true it prints
{"ready": true, ...} after the warm-up, then for every line N read from stdin runs N steps and prints {"ms": [...]}
(so the caller can alternate single steps with its own); it exits at end of input."""
import json, sys, time
import torch
import torch.nn.functional as F

cfg = json.loads(sys.argv[1])
torch.set_num_threads(int(cfg.get('threads', 2)))
torch.manual_seed(0)
B, S, C, W = cfg.get('batch', 64), cfg.get('size', 32), cfg.get('classes', 100), cfg.get('width', 64)
CL = bool(cfg.get('channels_last', False))
BN_OPS = cfg.get('bn', 'module') == 'ops'


class Masked(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, s):
        m = (s > 0).float()
        scale = torch.rsqrt(m.mean())
        ctx.save_for_backward(w, scale)
        return w * m * scale

    @staticmethod
    def backward(ctx, g):
        w, scale = ctx.saved_tensors
        return None, g * w * scale


class Net:
    def __init__(self):
        self.weights, self.scores, self.bn = {}, {}, {}
        self.conv('stem', 3, W, 3)
        self.bnp('stem', W)
        cin = W
        self.blocks = []
        for li, mult in enumerate([1, 2, 4, 8]):
            cout = W * mult
            for bi in range(2):
                stride = 2 if (li > 0 and bi == 0) else 1
                n = f'l{li}b{bi}'
                self.conv(n + 'c1', cin, cout, 3); self.bnp(n + 'c1', cout)
                self.conv(n + 'c2', cout, cout, 3); self.bnp(n + 'c2', cout)
                ds = stride != 1 or cin != cout
                if ds:
                    self.conv(n + 'ds', cin, cout, 1); self.bnp(n + 'ds', cout)
                self.blocks.append((n, stride, ds))
                cin = cout
        self.weights['fc'] = torch.randn(C, cin) / cin ** 0.5
        self.scores['fc'] = torch.ones(C, cin, requires_grad=True)
        self.fcb = torch.zeros(C, requires_grad=True)

    def conv(self, n, cin, cout, k):
        w = torch.randn(cout, cin, k, k) * (2.0 / (cin * k * k)) ** 0.5
        s = torch.ones(cout, cin, k, k)
        if CL:
            w = w.contiguous(memory_format=torch.channels_last)
            s = s.contiguous(memory_format=torch.channels_last)
        self.weights[n] = w
        self.scores[n] = s.requires_grad_()

    def bnp(self, n, c):
        self.bn[n] = (torch.ones(c, requires_grad=True), torch.zeros(c, requires_grad=True))

    def params(self):
        ps = list(self.scores.values()) + [self.fcb]
        for g, b in self.bn.values():
            ps += [g, b]
        return ps

    def cbr(self, x, n, stride, relu=True):
        k = self.weights[n].shape[-1]
        y = F.conv2d(x, Masked.apply(self.weights[n], self.scores[n]), stride=stride, padding=k // 2)
        g, b = self.bn[n]
        if BN_OPS:
            mean = y.mean(dim=(0, 2, 3), keepdim=True)
            var = ((y - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            y = (y - mean) * torch.rsqrt(var + 1e-5) * g.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)
        else:
            y = F.batch_norm(y, None, None, g, b, training=True, eps=1e-5)
        return F.relu(y) if relu else y

    def forward(self, x):
        x = self.cbr(x, 'stem', 1)
        for n, stride, ds in self.blocks:
            h = self.cbr(x, n + 'c1', stride)
            h = self.cbr(h, n + 'c2', 1, relu=False)
            sc = self.cbr(x, n + 'ds', stride, relu=False) if ds else x
            x = F.relu(h + sc)
        x = x.mean(dim=(2, 3))
        return F.linear(x, Masked.apply(self.weights['fc'], self.scores['fc']), self.fcb)


net = Net()
opt = torch.optim.SGD(net.params(), lr=0.1, momentum=0.9)
x = torch.randn(B, 3, S, S)
if CL:
    x = x.contiguous(memory_format=torch.channels_last)
y = torch.randint(0, C, (B,))


def step():
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net.forward(x), y)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(int(cfg.get('warmup', 2))):
    step()
info = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'channels_last': CL, 'bn': 'ops' if BN_OPS else 'module'}
if cfg.get('serve'):
    print(json.dumps({'ready': True, **info}), flush=True)
    for line in sys.stdin:
        out = []
        for _ in range(int(line.strip() or 1)):
            t0 = time.perf_counter()
            step()
            out.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({'ms': out}), flush=True)
    sys.exit(0)
ms = []
for _ in range(int(cfg.get('steps', 3))):
    t0 = time.perf_counter()
    step()
    ms.append((time.perf_counter() - t0) * 1000)
print(json.dumps({'ms': ms, **info}))
