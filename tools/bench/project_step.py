# PyTorch reference for tools/bench/project_step.ts: the reference's masked ResNet-18 step (scores 1.0, threshold 0,
# scaled, straight-through through mean(M)), torchvision resnet18, masked random head, batch 64 of 32x32, 100 classes,
# SGD momentum 0.9 on the scores; 2 threads. Prints JSON {"median_ms", "times_ms"}.
import json, sys, time
import torch, torchvision
torch.set_num_threads(2)
torch.manual_seed(0)

class GetSubnet(torch.autograd.Function):
    @staticmethod
    def forward(ctx, s):
        return (s > 0).float()
    @staticmethod
    def backward(ctx, g):
        return g

model = torchvision.models.resnet18(num_classes=1000)
model.fc = torch.nn.Identity()
masked = [(n, p) for n, p in model.named_parameters() if 'conv' in n or 'downsample' in n]
for _, p in model.named_parameters():
    p.requires_grad_(False)
scores = {n: torch.ones_like(p, requires_grad=True) for n, p in masked}
W0 = {n: p.detach().clone() for n, p in masked}
head_w = torch.empty(100, 512).uniform_(-1 / 512 ** 0.5, 1 / 512 ** 0.5)
head_s = torch.ones(100, 512, requires_grad=True)
opt = torch.optim.SGD(list(scores.values()) + [head_s], lr=50, momentum=0.9)
x = torch.randn(64, 3, 32, 32).contiguous(memory_format=torch.channels_last)
model = model.to(memory_format=torch.channels_last)
y = torch.randint(0, 100, (64,))
params = dict(model.named_parameters())

def step():
    ws = {}
    for n, _ in masked:
        m = GetSubnet.apply(scores[n])
        ws[n] = W0[n] * m / torch.sqrt(m.mean())
    out = torch.func.functional_call(model, ws, (x,)) if hasattr(torch, 'func') else torch.nn.utils.stateless.functional_call(model, ws, (x,))
    mh = GetSubnet.apply(head_s)
    logits = out @ (head_w * mh / torch.sqrt(mh.mean())).t()
    loss = torch.nn.functional.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
for _ in range(2):
    step()
times = []
for _ in range(n):
    t = time.perf_counter()
    step()
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({"median_ms": times[len(times) // 2], "times_ms": times}))
