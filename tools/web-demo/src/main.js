// The page of `smn web` (docs/web.md): the DOM around demo.js. window.smn exposes the demo to tests and benchmarks
// (tools/web-demo/test/web.test.ts, tools/bench/web.ts).
import { centerCropBox, resizeCrop, shorterSideSize } from '@smn/datasets';
import { createDemo, normalizePixels, topK } from './demo.js';

const $ = (id) => document.getElementById(id);
const fmt = (n) => n.toLocaleString('en-US');
const kb = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);
const GALLERY_SHOWN = 60;

function showError(msg) {
  const e = $('error');
  e.textContent = msg;
  e.hidden = !msg;
}

function renderDownloads(demo) {
  const tbody = $('downloads').querySelector('tbody');
  tbody.textContent = '';
  const ft = demo.manifest.base.fineTunedBytes;
  let total = 0;
  for (const [url, bytes] of demo.downloads) {
    total += bytes;
    const name = new URL(url).pathname.split('/').slice(-3).join('/').replace(/^.*?(tasks\/)/, '$1');
    // The comparison sits on a task's last file (its head): the task's files together against a fine-tuned copy.
    const task = demo.manifest.tasks.find((t) => url.endsWith(t.head.file));
    const vs = task ? `${kb(ft)}: ${Math.round(ft / task.taskBytes)}× this task's ${kb(task.taskBytes)}` : '';
    const tr = document.createElement('tr');
    tr.innerHTML = `<td></td><td class="num">${fmt(bytes)}</td><td class="num">${vs}</td>`;
    tr.firstChild.textContent = name;
    tbody.append(tr);
  }
  const tr = document.createElement('tr');
  tr.innerHTML = `<td><b>total</b></td><td class="num"><b>${fmt(total)}</b></td><td class="num muted">${demo.manifest.tasks.length} tasks fine-tuned: ${kb(ft * demo.manifest.tasks.length)}</td>`;
  tbody.append(tr);
}

function renderChart(task) {
  const layers = task.masks?.layers ?? [];
  if (!layers.length) {
    $('chart').innerHTML = '<p class="muted">this task uses the backbone unmasked (every weight kept)</p>';
    return;
  }
  const row = 16;
  const label = 190;
  const width = 500;
  const bar = width - label - 60;
  const parts = layers.map((l, i) => {
    const f = l.kept / l.total;
    const y = i * row;
    const name = l.name.replace(/\.weight$/, '');
    return `<text x="${label - 6}" y="${y + 12}" text-anchor="end">${name}</text><rect x="${label}" y="${y + 3}" width="${bar}" height="${row - 6}" fill="#e8ecf0"/><rect x="${label}" y="${y + 3}" width="${(bar * f).toFixed(1)}" height="${row - 6}" fill="#2563eb"><title>${name}: ${fmt(l.kept)} of ${fmt(l.total)} kept</title></rect><text x="${label + bar + 6}" y="${y + 12}">${(100 * f).toFixed(1)}%</text>`;
  });
  $('chart').innerHTML = `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="kept fraction per layer" width="${width}" height="${layers.length * row + 4}" font-size="11" font-family="system-ui, sans-serif">${parts.join('')}</svg><p class="muted">${(100 * task.masks.kept).toFixed(2)}% of ${fmt(task.masks.weights)} masked weights kept</p>`;
}

function drawGray(canvas, px, channels, s) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(s, s);
  for (let p = 0, o = 0; o < img.data.length; p += channels, o += 4) {
    img.data[o] = px[p];
    img.data[o + 1] = px[p + (channels === 3 ? 1 : 0)];
    img.data[o + 2] = px[p + (channels === 3 ? 2 : 0)];
    img.data[o + 3] = 255;
  }
  canvas.width = s;
  canvas.height = s;
  ctx.putImageData(img, 0, 0);
}

/** The gallery's labels in the active task's classes (a task on a label grouping ships its own), or null when its classes are not the gallery's. */
function taskLabels(demo) {
  const t = demo.active;
  const g = demo.manifest.gallery;
  return t.galleryLabels ?? (t.classes.length === g.classes.length ? g.labels : null);
}

/** Classifies one image with the active task; `galleryIndex` (an image of the gallery) adds its true label. */
async function classifyPixels(demo, px, channels, galleryIndex) {
  const s = demo.manifest.base.inputSize;
  drawGray($('preview'), px, channels, s);
  const l = await demo.probabilities(normalizePixels(px, channels, demo.manifest.base.norm), 1);
  const classes = demo.active.classes;
  $('top5').innerHTML = topK(l, 5)
    .map(([c, p]) => `<li><span class="bar" style="width:${Math.max(1, Math.round(120 * p))}px"></span>${classes[c]} <span class="muted">${(100 * p).toFixed(1)}%</span></li>`)
    .join('');
  if (galleryIndex !== undefined) {
    const g = demo.manifest.gallery;
    const fine = g.classes[g.labels[galleryIndex]];
    const grouped = demo.active.galleryLabels ? ` (${classes[demo.active.galleryLabels[galleryIndex]]})` : '';
    $('top5').insertAdjacentHTML('beforeend', `<li class="muted" style="list-style:none">true label: ${fine}${grouped}</li>`);
  }
}

/**
 * An image file the user dropped or chose, as the gallery's images were made: decoded at its own size, then the eval
 * preset's geometry (Resize of the shorter side to the input size, CenterCrop) with PIL's resampling from
 * @smn/datasets (the very pixels training used), then gray, and inverted when its border is light (the gallery's
 * images are light on black).
 */
async function fileToPixels(file, s) {
  const bmp = await createImageBitmap(file);
  const c = document.createElement('canvas');
  c.width = bmp.width;
  c.height = bmp.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(bmp, 0, 0);
  const rgba = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
  const rgb = new Uint8Array(bmp.width * bmp.height * 3);
  for (let i = 0, o = 0; i < rgba.length; i += 4, o += 3) rgb.set(rgba.subarray(i, i + 3), o);
  const [rh, rw] = shorterSideSize(bmp.height, bmp.width, s);
  const img = resizeCrop({ data: rgb, height: bmp.height, width: bmp.width }, rh, rw, centerCropBox(rh, rw, s, s), 'bilinear');
  const gray = new Uint8Array(s * s);
  for (let i = 0; i < gray.length; i++) gray[i] = Math.round(0.299 * img.data[3 * i] + 0.587 * img.data[3 * i + 1] + 0.114 * img.data[3 * i + 2]);
  let border = 0;
  for (let i = 0; i < s; i++) border += gray[i] + gray[(s - 1) * s + i] + gray[i * s] + gray[i * s + s - 1];
  if (border / (4 * s) > 127) for (let i = 0; i < gray.length; i++) gray[i] = 255 - gray[i];
  return gray;
}

async function main() {
  const params = new URLSearchParams(location.search);
  const demo = await createDemo({ backend: params.get('backend') ?? undefined });
  window.smn.demo = demo;
  const b = demo.backend;
  $('backend').textContent = `backend: ${b.name}${b.skipped.length ? ` (skipped: ${b.skipped.join('; ')})` : ''}; base ${kb(demo.manifest.base.bytes)} (${demo.manifest.base.dtype}) loaded in ${Math.round(demo.loadMs)} ms`;
  const s = demo.manifest.base.inputSize;
  let lastPick = null;

  const buttons = new Map();
  async function pick(id) {
    showError('');
    try {
      const r = await demo.selectTask(id);
      for (const [tid, btn] of buttons) btn.setAttribute('aria-checked', String(tid === id));
      $('switch').textContent = `${id}: downloaded and checked in ${Math.round(r.loadMs)} ms, mask applied to the shared weights in ${r.applyMs.toFixed(1)} ms`;
      renderChart(demo.active);
      if (lastPick) await lastPick();
      return { ok: true, ...r };
    } catch (err) {
      const msg = `task ${id} could not be loaded: ${err?.message ?? err}. Still using ${demo.active?.id ?? 'no task'}.`;
      showError(msg);
      return { ok: false, error: msg };
    } finally {
      renderDownloads(demo);
    }
  }
  for (const t of demo.manifest.tasks) {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.setAttribute('role', 'radio');
    btn.setAttribute('aria-checked', 'false');
    btn.dataset.task = t.id;
    const mask = t.masks ? `${kb(t.masks.bytes)} mask, ${(100 * t.masks.kept).toFixed(1)}% kept` : 'no mask';
    btn.innerHTML = `<b></b> <small></small>`;
    btn.querySelector('b').textContent = t.id;
    btn.querySelector('small').textContent = `${t.method}, ${t.classes.length} classes, ${(100 * t.accuracy).toFixed(1)}% test accuracy; ${mask} + ${kb(t.head.bytes)} head`;
    btn.addEventListener('click', () => pick(t.id));
    buttons.set(t.id, btn);
    $('tasks').append(btn);
  }

  if (demo.gallery) {
    const g = demo.gallery;
    const per = s * s * g.channels;
    for (let i = 0; i < Math.min(GALLERY_SHOWN, g.count); i++) {
      const c = document.createElement('canvas');
      c.title = `test image ${i}: ${g.classes[g.labels[i]]}`;
      drawGray(c, g.pixels.subarray(i * per, (i + 1) * per), g.channels, s);
      c.addEventListener('click', () => {
        lastPick = () => classifyPixels(demo, g.pixels.subarray(i * per, (i + 1) * per), g.channels, i);
        void lastPick();
      });
      $('gallery').append(c);
    }
  }
  const onFile = async (file) => {
    if (!file) return;
    try {
      const px = await fileToPixels(file, s);
      lastPick = () => classifyPixels(demo, px, 1);
      await lastPick();
    } catch (err) {
      showError(`${file.name}: ${err?.message ?? err}`);
    }
  };
  $('file').addEventListener('change', (e) => onFile(e.target.files?.[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void onFile(e.dataTransfer?.files?.[0]);
  });

  async function classifyAll() {
    const t0 = performance.now();
    const r = await demo.classifyGallery();
    const ms = performance.now() - t0;
    const g = demo.gallery;
    const labels = taskLabels(demo);
    const correct = labels ? r.predictions.filter((p, i) => p === labels[i]).length : null;
    $('all-result').textContent = `${g.count} images in ${Math.round(ms)} ms (${Math.round((1000 * g.count) / ms)} images/s)${correct === null ? '' : `, ${((100 * correct) / g.count).toFixed(1)}% correct`}`;
    [...$('gallery').children].forEach((c, i) => (c.className = labels ? (r.predictions[i] === labels[i] ? 'right' : 'wrong') : ''));
    return { ...r, ms };
  }
  $('all').addEventListener('click', () => classifyAll());

  Object.assign(window.smn, { pick, classifyAll, fileToPixels: (file) => fileToPixels(file, s), ready: true });
  if (demo.manifest.tasks.length) {
    await pick(demo.manifest.tasks[0].id);
    lastPick = () => classifyPixels(demo, demo.gallery.pixels.subarray(0, s * s * demo.gallery.channels), demo.gallery.channels, 0);
    if (demo.gallery) await lastPick();
  }
  window.smn.firstPredictionMs = performance.now();
}

window.smn = { ready: false };
main().catch((err) => {
  window.smn.error = String(err?.stack ?? err);
  showError(`the page could not start: ${err?.message ?? err}`);
});
