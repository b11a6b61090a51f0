"""PIL reference for tools/bench/pixels.ts: the resamplings and blurs of @smn/datasets' pixel kernels
(packages/datasets/src/kernels/pixels.wat) done by Pillow on the same images (raw RGB files the bench writes).

Argument: JSON {"reps": R, "iters": N, "cases": [{"name", "file", "height", "width", "op": "crop"|"blur",
"box": [top, left, h, w], "size": S, "interp": "bilinear"|"bicubic", "radius": r}]}.
Prints {"results": [{"name", "cpu_ms": [per repetition: CPU ms per call, median of N calls' mean], "sha256"}]}:
the sha256 of one call's output bytes, so the bench can say whether both sides computed the same pixels.
"""
import hashlib
import json
import sys
import time

import numpy as np
from PIL import Image, ImageFilter

cfg = json.loads(sys.argv[1])
FILTERS = {'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC}


def op(case):
    raw = np.fromfile(case['file'], dtype=np.uint8).reshape(case['height'], case['width'], 3)
    img = Image.fromarray(raw, 'RGB')
    if case['op'] == 'crop':
        t, l, h, w = case['box']
        s = case['size']
        # torchvision F.resized_crop on a PIL image: crop, then resize.
        return lambda: img.crop((l, t, l + w, t + h)).resize((s, s), FILTERS[case['interp']])
    return lambda: img.filter(ImageFilter.GaussianBlur(radius=case['radius']))


results = []
for case in cfg['cases']:
    f = op(case)
    out = f()
    for _ in range(10):
        f()
    reps = []
    for _ in range(cfg['reps']):
        c0 = time.process_time()
        for _ in range(cfg['iters']):
            f()
        reps.append((time.process_time() - c0) * 1000 / cfg['iters'])
    results.append({'name': case['name'], 'cpu_ms': reps, 'sha256': hashlib.sha256(np.asarray(out).tobytes()).hexdigest()})
print(json.dumps({'results': results}))
