// Photo in, pixels out: decode a file to planar float RGB in [0, 1] and back to a canvas.

export const MAX_PIXELS = 16_000_000; // 16 MP: input + output floats stay under ~400 MB

/** An error the page shows as it is. */
export class UserError extends Error {}

/** Decode an image file to {width, height, rgba}; a readable UserError when it is not one. */
export async function decodeImage(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none",
                                             imageOrientation: "from-image" });
  } catch {
    throw new UserError(`"${file.name}" is not an image this browser can decode`
                        + ` (type: ${file.type || "unknown"}); pick a PNG, JPEG or WebP photo.`);
  }
  const { width, height } = bitmap;
  if (width * height > MAX_PIXELS) {
    bitmap.close();
    throw new UserError(`"${file.name}" is ${width}x${height} (${(width * height / 1e6).toFixed(1)} MP);`
                        + ` this page handles up to ${MAX_PIXELS / 1e6} MP. Downscale it first.`);
  }
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { name: file.name, width, height, rgba: ctx.getImageData(0, 0, width, height).data };
}

/** RGBA bytes -> 3 x H x W float32 in [0, 1] (the exported models' input layout). */
export function toPlanar(rgba, width, height) {
  const n = width * height, out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i] = rgba[4 * i] / 255;
    out[n + i] = rgba[4 * i + 1] / 255;
    out[2 * n + i] = rgba[4 * i + 2] / 255;
  }
  return out;
}

/** 3 x H x W float (any range) -> ImageData, clipped to [0, 1] and rounded to 8 bits. */
export function toImageData(planar, width, height) {
  return regionImageData(planar, width, height, 0, 0, width, height);
}

/** The rectangle [x0, x1) x [y0, y1) of a 3 x H x W float image as ImageData (as toImageData). */
export function regionImageData(planar, width, height, x0, y0, x1, y1) {
  const n = width * height, rw = x1 - x0, img = new ImageData(rw, y1 - y0);
  const px = img.data; // Uint8ClampedArray: clamps and rounds
  for (let y = y0, j = 0; y < y1; y++) {
    for (let i = y * width + x0, end = i + rw; i < end; i++, j += 4) {
      px[j] = planar[i] * 255;
      px[j + 1] = planar[n + i] * 255;
      px[j + 2] = planar[2 * n + i] * 255;
      px[j + 3] = 255;
    }
  }
  return img;
}

/** Draw ImageData or RGBA bytes on a canvas, resizing it. */
export function draw(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext("2d").putImageData(image, 0, 0);
}

/** Size a canvas and clear it (transparent), without allocating the pixels here. */
export function clear(canvas, width, height) {
  canvas.width = width; // setting the size clears the canvas, even when it is unchanged
  canvas.height = height;
}

/** Draw the rectangle [x0, x1) x [y0, y1) of a 3 x H x W float image at its place on `canvas`. */
export function drawRegion(canvas, planar, width, height, x0, y0, x1, y1) {
  if (x1 <= x0 || y1 <= y0) return;
  canvas.getContext("2d").putImageData(regionImageData(planar, width, height, x0, y0, x1, y1), x0, y0);
}
