// What torch.save writes (the zip format of PyTorch >= 1.6), for tests that need a checkpoint in a hub's layout
// (SwAV's swav_800ep_pretrain.pth.tar: {'epoch', 'state_dict': {'module.conv1.weight': …}}) without PyTorch at test
// time. A protocol-2 pickle of dicts, OrderedDicts (Maps), numbers, strings and tensors, each tensor in its own
// storage `archive/data/<i>`, in a stored (uncompressed) zip. PyTorch 1.13 reads these files (torch.load) as written.
import { makeZip } from '../../core/test/_zip.js';
import type { RawTensor, StateDict } from '@smn/models';

type Py = number | string | boolean | null | RawTensor | Map<string, Py> | { [k: string]: Py };

const STORAGE = { float32: ['FloatStorage', 4], int32: ['IntStorage', 4], int64: ['LongStorage', 8] } as const;

class Pickler {
  out: number[] = [0x80, 0x02];
  storages: Uint8Array[] = [];
  op(...b: number[]) {
    this.out.push(...b);
  }
  int(n: number) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    this.op(0x4a, ...b); // BININT
  }
  str(s: string) {
    const u = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32LE(u.length);
    this.op(0x58, ...n, ...u); // BINUNICODE
  }
  global(module: string, name: string) {
    this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1')); // GLOBAL
  }
  tuple(items: number[]) {
    this.op(0x28); // MARK
    for (const i of items) this.int(i);
    this.op(0x74); // TUPLE
  }
  tensor(t: RawTensor) {
    const [cls, size] = STORAGE[t.dtype as keyof typeof STORAGE];
    const key = String(this.storages.length);
    this.storages.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length * size));
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.op(0x28); // MARK: the arguments
    this.op(0x28);
    this.str('storage');
    this.global('torch', cls);
    this.str(key);
    this.str('cpu');
    this.int(t.data.length);
    this.op(0x74, 0x51); // TUPLE, BINPERSID
    this.int(0);
    this.tuple(t.shape);
    this.tuple(strides);
    this.op(0x89); // requires_grad False
    this.global('collections', 'OrderedDict');
    this.op(0x29, 0x52); // EMPTY_TUPLE, REDUCE: no backward hooks
    this.op(0x74, 0x52); // TUPLE, REDUCE
  }
  value(v: Py) {
    if (v === null) this.op(0x4e);
    else if (typeof v === 'boolean') this.op(v ? 0x88 : 0x89);
    else if (typeof v === 'number') this.int(v);
    else if (typeof v === 'string') this.str(v);
    else if (v instanceof Map) {
      this.global('collections', 'OrderedDict');
      this.op(0x29, 0x52);
      this.items([...v]);
    } else if ('shape' in v && 'data' in v && ArrayBuffer.isView(v.data)) this.tensor(v as RawTensor);
    else {
      this.op(0x7d); // EMPTY_DICT
      this.items(Object.entries(v as Record<string, Py>));
    }
  }
  items(entries: [string, Py][]) {
    if (entries.length === 0) return;
    this.op(0x28);
    for (const [k, x] of entries) {
      this.str(k);
      this.value(x);
    }
    this.op(0x75); // SETITEMS
  }
}

/** The bytes torch.save(value) writes. */
export function torchSave(value: Py): Uint8Array {
  const p = new Pickler();
  p.value(value);
  p.op(0x2e); // STOP
  return makeZip([
    { name: 'archive/data.pkl', data: Uint8Array.from(p.out) },
    ...p.storages.map((data, i) => ({ name: `archive/data/${i}`, data })),
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]);
}

/**
 * A ResNet state dict as SwAV's training saved it: under 'state_dict', every name with DistributedDataParallel's
 * 'module.' prefix, beside the projection head and prototypes the backbone does not use.
 */
export function swavCheckpoint(sd: StateDict, extra: StateDict = new Map()): Uint8Array {
  const state = new Map<string, Py>([...sd, ...extra].map(([k, t]) => [`module.${k}`, t]));
  return torchSave({ epoch: 800, arch: 'resnet50', state_dict: state });
}
