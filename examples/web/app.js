// PNGAN browser reference app: UI wiring. Results are exposed for tests as window.pnganResult.
import { clear, decodeImage, draw, drawRegion, toPlanar, UserError } from "./image.js";
import { createSession, hasWebGpu, loadCatalog, loadOrt, tileRunner, webGpuName } from "./model.js";
import { normals } from "./rng.js";
import { Cancelled, checkTiling, runTiled } from "./tiling.js";

const $ = (id) => document.getElementById(id);
const ui = Object.fromEntries(["model", "backend", "seed", "seed-row", "tile", "overlap", "file", "run", "cancel",
  "status", "progress", "progress-text", "time", "left", "right", "left-caption", "right-caption", "download"]
  .map((id) => [id, $(id)]));

let catalog = null;   // models/models.json
let photo = null;     // {name, width, height, rgba}
let job = null;       // the running job: {cancelled}
let threads = 1;
let showingSample = true; // the shipped sample is on show until a photo is picked
let sampleToken = 0;      // the latest showSample() call (a model change starts a new one)
const sessions = new Map(); // "id@backend" -> Promise<InferenceSession>
window.pnganResult = null;
window.pnganSample = null; // {model, input, result}: what the opening view shows

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
}

function showError(e) {
  const msg = e instanceof UserError ? e.message : `${e.name || "Error"}: ${e.message || e}`;
  setStatus("error", `Error: ${msg}`);
  if (!(e instanceof UserError)) console.error(e);
}

function entry() {
  return catalog.models.find((m) => m.id === ui.model.value);
}

function onModelChange() {
  const m = entry();
  const gen = m.kind === "generator";
  ui["seed-row"].hidden = !gen;
  ui.tile.value = m.tile;
  ui.overlap.value = m.overlap;
  ui["left-caption"].textContent = gen ? "clean" : "original";
  ui["right-caption"].textContent = gen ? "synthesized noisy" : "denoised";
}

/** An image file of the built page (e.g. samples/coffee.png), decoded as a picked photo is. */
async function fetchImage(path) {
  const res = await fetch(path, { cache: "no-cache" });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  const blob = await res.blob();
  return decodeImage(new File([blob], path.split("/").pop(), { type: blob.type || "image/png" }));
}

/**
 * The opening view: the shipped sample (catalog.sample) as the photo, with the selected model's result on it
 * computed when the page was built (`pngan app --build`, onnxruntime on the same model file). Run runs it here.
 */
async function showSample() {
  const s = catalog.sample;
  if (!s || !showingSample || job) return;
  const m = entry(), gen = m.kind === "generator", token = ++sampleToken;
  try {
    const input = await fetchImage(gen ? s.clean : s.noisy);
    // A generator's stored result is for the sample's seed: shown while the seed field holds it (never changed here).
    const stored = s.results && s.results[m.id] && (!gen || ui.seed.value.trim() === String(s.seed));
    const out = stored ? await fetchImage(s.results[m.id]) : null;
    if (token !== sampleToken || !showingSample || job) return; // a photo was picked or the model changed meanwhile
    photo = input;
    draw(ui.left, new ImageData(photo.rgba, photo.width, photo.height));
    if (out) draw(ui.right, new ImageData(out.rgba, out.width, out.height));
    else clear(ui.right, photo.width, photo.height);
    ui["left-caption"].textContent = gen ? `sample: ${s.name} (clean)` : `sample: ${s.name} with synthetic noise`;
    ui["right-caption"].textContent = (gen ? `synthesized noisy (seed ${s.seed})` : "denoised")
      + (out ? ", computed when the page was built" : "");
    window.pnganSample = { model: m.id, input: gen ? s.clean : s.noisy, result: out ? s.results[m.id] : null };
    setStatus("idle", `Showing the shipped sample${out ? ` and the result of ${m.label} on it, computed with onnxruntime`
      + " when the page was built" : ""}. Press Run to run it in this browser, or pick a photo.`);
  } catch (e) {
    console.warn(`the shipped sample could not be shown: ${e.message || e}`);
    if (token === sampleToken) setStatus("idle", "Pick a photo.");
  }
}

function session(m, backend) {
  const key = `${m.id}@${backend}`;
  if (!sessions.has(key)) {
    const p = createSession(m, backend);
    p.catch(() => sessions.delete(key)); // a failed load is retried next time
    sessions.set(key, p);
  }
  return sessions.get(key);
}

function readInt(input, what, min, max) {
  const v = Number(input.value);
  if (input.value.trim() === "" || !Number.isInteger(v) || v < min || v > max) {
    throw new UserError(`${what} must be a whole number from ${min} to ${max}, got "${input.value}"`);
  }
  return v;
}

/** Lock the settings while a job runs (changing them mid-run would not apply to it). */
function setBusy(busy) {
  for (const id of ["run", "file", "model", "backend", "seed", "tile", "overlap"]) ui[id].disabled = busy;
  ui.cancel.disabled = !busy;
}

async function run() {
  if (job) return;
  if (!photo) return setStatus("idle", "Pick a photo first.");
  const m = entry(), backend = ui.backend.value, gen = m.kind === "generator";
  job = { cancelled: false };
  setBusy(true);
  ui.download.hidden = true;
  ui.progress.hidden = true;
  ui.time.textContent = ui["progress-text"].textContent = "";
  try {
    const tile = readInt(ui.tile, "Tile", 16, 4096), overlap = readInt(ui.overlap, "Overlap", 0, 2048);
    try {
      checkTiling(tile, overlap);
    } catch (e) {
      throw new UserError(e.message);
    }
    const seed = gen ? readInt(ui.seed, "Seed", 0, 4294967295) : null;
    setStatus("loading", `Loading ${m.label}…`);
    const sess = await session(m, backend);
    const { width, height } = photo;
    let input = toPlanar(photo.rgba, width, height);
    if (gen) { // generator input: clean + sigma/255 * N(0, 1), the noise fixed by the seed
      const noise = normals(input.length, seed), s = m.input_sigma / 255;
      for (let i = 0; i < input.length; i++) input[i] += s * noise[i];
    }
    setStatus("running", `Running ${m.label} on ${width}x${height}…`);
    // The result is drawn as it grows: each tile's now-final part, the rest stays clear.
    clear(ui.right, width, height);
    ui["right-caption"].textContent = gen ? `synthesized noisy (seed ${seed})` : "denoised";
    const timer = { ms: 0, location: null };
    let tiles = 0;
    const t0 = performance.now();
    const output = await runTiled(tileRunner(sess, m, timer), input, height, width, {
      tile, overlap, isCancelled: () => job.cancelled,
      onFinal: (out, x0, y0, x1, y1) => drawRegion(ui.right, out, width, height, x0, y0, x1, y1),
      onProgress: (done, total) => {
        tiles = total;
        ui.progress.hidden = total < 2;
        ui.progress.max = total;
        ui.progress.value = done;
        ui["progress-text"].textContent = total > 1 ? `tile ${done}/${total}` : "";
      },
    });
    const wall = performance.now() - t0;
    // The backend that ran, from where the output came from (not just the one asked for).
    const ran = timer.location === "gpu-buffer" ? "webgpu" : "wasm", gpuName = ran === "webgpu" ? webGpuName() : "";
    const where = ran === "webgpu" ? `WebGPU${gpuName ? `, ${gpuName}` : ""}`
      : `WASM, ${threads} thread${threads > 1 ? "s" : ""}`;
    ui.time.textContent = `inference ${timer.ms.toFixed(0)} ms (${tiles} tile${tiles > 1 ? "s" : ""}, ${where});`
      + ` total ${wall.toFixed(0)} ms`;
    window.pnganResult = { model: m.id, kind: m.kind, backend: ran, requestedBackend: backend, gpu: gpuName, width,
      height, seed, tile, overlap, tiles, inferenceMs: timer.ms, totalMs: wall, input, output };
    ui.right.toBlob((blob) => {
      if (!blob) return;
      URL.revokeObjectURL(ui.download.href);
      ui.download.href = URL.createObjectURL(blob);
      ui.download.hidden = false;
    });
    setStatus("done", `Done: ${m.label}, ${width}x${height}.`);
  } catch (e) {
    if (e instanceof Cancelled) setStatus("cancelled", `Cancelled after ${e.done} of ${e.total} tiles.`);
    else showError(e);
  } finally {
    job = null;
    setBusy(false);
  }
}

async function onFile() {
  const file = ui.file.files[0];
  if (!file || job) return;
  showingSample = false;
  window.pnganSample = null;
  setStatus("loading", `Reading ${file.name}…`);
  try {
    photo = await decodeImage(file);
  } catch (e) {
    return showError(e);
  }
  draw(ui.left, new ImageData(photo.rgba, photo.width, photo.height));
  clear(ui.right, photo.width, photo.height);
  window.pnganResult = null;
  await run();
}

async function init() {
  try {
    const info = await loadOrt();
    threads = info.threads;
    catalog = await loadCatalog();
  } catch (e) {
    return showError(e);
  }
  for (const m of catalog.models) ui.model.add(new Option(m.label, m.id));
  if (await hasWebGpu()) { // WebGPU where the browser has it, WASM otherwise
    ui.backend.add(new Option("WebGPU", "webgpu"));
    ui.backend.value = "webgpu";
  }
  onModelChange();
  ui.model.addEventListener("change", () => { onModelChange(); showSample(); });
  ui.file.addEventListener("change", onFile);
  ui.run.addEventListener("click", run);
  ui.cancel.addEventListener("click", () => { if (job) job.cancelled = true; });
  for (const el of [ui.model, ui.backend, ui.file, ui.run]) el.disabled = false;
  setStatus("idle", "Pick a photo.");
  await showSample();
  document.body.dataset.ready = "1";
}

init();
