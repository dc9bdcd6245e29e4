// onnxruntime-web wrapper: the model catalog (models/models.json), sessions, one tile's run.
import { UserError } from "./image.js";

let ort = null;

/** Import onnxruntime-web from the copied dist folder and set the WASM options. */
export async function loadOrt() {
  try {
    ort = await import("./ort/ort.min.mjs");
  } catch (e) {
    throw new UserError(`onnxruntime-web could not be loaded from ort/ort.min.mjs (${e.message}); `
                        + "build the page with `pngan app --build OUT` and serve OUT.");
  }
  ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
  // Threads need cross-origin isolation (COOP/COEP headers, sent by `pngan app --serve`).
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  return { version: ort.env.versions?.web ?? "?", threads: ort.env.wasm.numThreads };
}

/** The models listed in models/models.json. */
export async function loadCatalog(url = "models/models.json") {
  let res;
  try {
    res = await fetch(url, { cache: "no-cache" });
  } catch (e) {
    throw new UserError(`could not fetch ${url}: ${e.message}`);
  }
  if (!res.ok) throw new UserError(`could not fetch ${url}: HTTP ${res.status}; build the page with \`pngan app --build OUT\`.`);
  let catalog;
  try {
    catalog = await res.json();
  } catch {
    throw new UserError(`${url} is not valid JSON`);
  }
  if (!Array.isArray(catalog.models) || catalog.models.length === 0) throw new UserError(`${url} lists no models`);
  return catalog;
}

/** True when this browser exposes a usable WebGPU adapter. */
export async function hasWebGpu() {
  if (!navigator.gpu) return false;
  try {
    return !!(await navigator.gpu.requestAdapter());
  } catch {
    return false;
  }
}

/** An inference session for a catalog entry on "wasm" or "webgpu"; readable errors. */
export async function createSession(entry, backend) {
  const what = `model ${entry.id} (${entry.file})`;
  let res;
  try {
    res = await fetch(entry.file);
  } catch (e) {
    throw new UserError(`could not load ${what}: ${e.message}`);
  }
  if (!res.ok) throw new UserError(`could not load ${what}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const gpu = backend === "webgpu";
  try {
    return await ort.InferenceSession.create(bytes, {
      // WebGPU alone: given ["webgpu", "wasm"], onnxruntime-web drops WebGPU with only a console warning when it
      // fails to start, and the page would say WebGPU while running on WASM.
      executionProviders: gpu ? ["webgpu"] : ["wasm"],
      // The output stays on the GPU (tileRunner reads it back): its location shows which backend ran.
      ...(gpu && { preferredOutputLocation: "gpu-buffer" }),
      graphOptimizationLevel: "all",
    });
  } catch (e) {
    const how = gpu ? " on WebGPU (choose the WASM backend instead)" : "";
    throw new UserError(`could not load ${what}${how}: ${String(e.message || e).split("\n")[0]}`);
  }
}

/** The WebGPU adapter onnxruntime-web runs on, as "vendor architecture" (e.g. "google swiftshader"), or "". */
export function webGpuName() {
  const info = ort?.env.webgpu.adapter?.info;
  return info ? [info.vendor, info.architecture].filter(Boolean).join(" ") : "";
}

/**
 * `run(tile, h, w) -> Promise<Float32Array>` for one 1 x 3 x h x w tile; adds its time to `timer.ms` and sets
 * `timer.location` to where the output came from ("gpu-buffer" from WebGPU, "cpu" from WASM).
 */
export function tileRunner(session, entry, timer) {
  return async (data, h, w) => {
    const input = new ort.Tensor("float32", data, [1, 3, h, w]);
    const t0 = performance.now();
    const out = await session.run({ [entry.input_name]: input });
    const y = out[entry.output_name];
    timer.location = y.location;
    const result = y.location === "cpu" ? y.data : await y.getData(); // WebGPU: waits for the GPU's work
    timer.ms += performance.now() - t0;
    y.dispose();
    input.dispose();
    return result;
  };
}
