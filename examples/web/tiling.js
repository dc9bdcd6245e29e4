// Tiled inference, ported from pngan.runtimes.tiled (runtimes/tiling.py); same rule, same numbers.
//
// Per axis: tiles of `tile` pixels with stride `tile - overlap`, the last tile ending at the
// image edge. A tile side on the image border has weight 1; an inner side discards `margin`
// pixels (weight 0) then ramps (i + 0.5) / ramp over ramp = overlap - 2 * margin pixels.
// The 2-D weight is the outer product of the 1-D weights, normalized per pixel by the
// separable 1-D sums (so memory does not grow with the number of tiles).

export const DEFAULT_TILE = 256;
export const DEFAULT_OVERLAP = 32;

export class Cancelled extends Error {
  constructor(done, total) {
    super(`cancelled after ${done} of ${total} tiles`);
    this.done = done;
    this.total = total;
  }
}

/** Tile origins covering `size` with stride `step`; the last tile ends at `size`. */
export function starts(size, tile, step) {
  if (size <= tile) return [0];
  const s = [];
  for (let v = 0; v < size - tile; v += step) s.push(v);
  s.push(size - tile);
  return s;
}

/** 1-D weight of one tile: border sides flat, inner sides `margin` zeros then a linear ramp. */
export function sideWeight(length, margin, ramp, first, last) {
  const w = new Float32Array(length).fill(1);
  const prof = new Float32Array(margin + ramp);
  for (let i = 0; i < ramp; i++) prof[margin + i] = (i + 0.5) / ramp;
  const n = prof.length;
  if (!first) for (let i = 0; i < n; i++) w[i] = prof[i];
  if (!last) for (let i = 0; i < n; i++) w[length - n + i] = Math.min(w[length - n + i], prof[n - 1 - i]);
  return w;
}

/** Origins, per-tile 1-D weights and the 1-D normalization profile along one axis. */
export function axisPlan(size, tile, overlap, margin) {
  const s = starts(size, tile, tile - overlap);
  const span = Math.min(tile, size);
  const weights = s.map((_, i) => sideWeight(span, margin, overlap - 2 * margin, i === 0, i === s.length - 1));
  const norm = new Float32Array(size);
  s.forEach((o, i) => { for (let k = 0; k < span; k++) norm[o + k] += weights[i][k]; });
  if (norm.some((v) => v <= 0)) throw new Error(`tiling leaves pixels uncovered (size ${size}, tile ${tile}, overlap ${overlap})`);
  return { starts: s, weights, norm, span };
}

/** Check the tile settings; returns the margin (default overlap // 4). */
export function checkTiling(tile, overlap, margin = Math.floor(overlap / 4)) {
  if (!(Number.isInteger(tile) && Number.isInteger(overlap) && tile > 0 && overlap >= 0
        && 2 * overlap < tile && 0 <= 2 * margin && 2 * margin <= overlap)) {
    throw new Error(`need tile > 2 * overlap >= 4 * margin >= 0, got tile=${tile}, overlap=${overlap}`);
  }
  return margin;
}

/**
 * Run `run(tileData, h, w) -> Promise<Float32Array>` over a 3 x H x W planar image tile by tile
 * and blend. `onProgress(done, total)` is called before the first and after every tile;
 * `isCancelled()` is checked between tiles (throws `Cancelled`).
 *
 * `onFinal(out, x0, y0, x1, y1)` is called after every tile, before `onProgress`, with the
 * rectangle [x0, x1) x [y0, y1) of `out` that is now final: no later tile touches it (tiles go
 * row by row, so after tile (a, b) that is y < next row start, x < next column start). The
 * rectangles of all tiles cover the image exactly once; draw them to show the result as it grows.
 */
export async function runTiled(run, image, height, width, { tile = DEFAULT_TILE, overlap = DEFAULT_OVERLAP,
  channels = 3, onProgress = () => {}, onFinal = () => {}, isCancelled = () => false } = {}) {
  const margin = checkTiling(tile, overlap);
  const py = axisPlan(height, tile, overlap, margin);
  const px = axisPlan(width, tile, overlap, margin);
  const sh = py.span, sw = px.span, plane = height * width;
  const out = new Float32Array(channels * plane);
  const crop = new Float32Array(channels * sh * sw);
  const total = py.starts.length * px.starts.length;
  const wx = new Float32Array(sw);
  let done = 0;
  onProgress(0, total);
  for (let a = 0; a < py.starts.length; a++) {
    const y0 = py.starts[a];
    for (let b = 0; b < px.starts.length; b++) {
      if (isCancelled()) throw new Cancelled(done, total);
      const x0 = px.starts[b];
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < sh; y++) {
          const src = c * plane + (y0 + y) * width + x0;
          crop.set(image.subarray(src, src + sw), (c * sh + y) * sw);
        }
      }
      const pred = await run(crop.slice(), sh, sw);
      if (pred.length !== channels * sh * sw) throw new Error(`model returned ${pred.length} values for a ${sh}x${sw} tile`);
      for (let x = 0; x < sw; x++) wx[x] = px.weights[b][x] / px.norm[x0 + x];
      for (let y = 0; y < sh; y++) {
        const wy = py.weights[a][y] / py.norm[y0 + y];
        if (wy === 0) continue;
        for (let c = 0; c < channels; c++) {
          const dst = c * plane + (y0 + y) * width + x0, src = (c * sh + y) * sw;
          for (let x = 0; x < sw; x++) out[dst + x] += pred[src + x] * (wy * wx[x]);
        }
      }
      const ys = py.starts, xs = px.starts;
      onFinal(out, b ? xs[b] : 0, a ? ys[a] : 0, b + 1 < xs.length ? xs[b + 1] : width,
              a + 1 < ys.length ? ys[a + 1] : height);
      onProgress(++done, total);
      await new Promise((r) => setTimeout(r, 0)); // let the page paint progress and see Cancel
    }
  }
  return out;
}
