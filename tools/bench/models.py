"""Bench helper for tools/bench/models.ts: saves a torchvision ResNet state dict with torch.save (zip format) and
times torch.load of it. argv[1]: JSON {"depth": 50, "path": "..."}; prints one JSON line."""
import json, sys, time
import torch, torchvision
torch.set_num_threads(2)
cfg = json.loads(sys.argv[1])
m = getattr(torchvision.models, f"resnet{cfg['depth']}")()
torch.save(m.state_dict(), cfg['path'])
ts = []
for _ in range(3):
    t0 = time.perf_counter()
    torch.load(cfg['path'], map_location='cpu')
    ts.append((time.perf_counter() - t0) * 1000)
print(json.dumps({'torch_load_ms': sorted(ts)[1]}))
