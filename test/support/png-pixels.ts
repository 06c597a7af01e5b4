import { inflateSync } from 'node:zlib';

/**
 * Reads the pixels of a PNG as Chromium's screenshots write them (8-bit RGB
 * or RGBA, not interlaced), so a browser test can compare the colors it drew
 * without an image library. Throws on any other kind of PNG.
 */
export interface Pixels {
  width: number;
  height: number;
  /** "#rrggbb" of the pixel at (x, y), in image pixels. */
  at(x: number, y: number): string;
  /** How many pixels within the box have this color, each channel within `tolerance` (antialiased lines). */
  count(color: string, box?: { x: number; y: number; width: number; height: number }, tolerance?: number): number;
}

export function readPng(png: Buffer): Pixels {
  if (png.subarray(1, 4).toString() !== 'PNG') throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, colorType, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      if (depth !== 8 || interlace !== 0 || (colorType !== 2 && colorType !== 6))
        throw new Error(`unsupported PNG: depth ${depth}, color type ${colorType}, interlace ${interlace}`);
      channels = colorType === 6 ? 4 : 3;
    } else if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? pixels[y * stride + i - channels]! : 0;
      const up = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const upLeft = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels]! : 0;
      const predicted =
        filter === 0
          ? 0
          : filter === 1
            ? left
            : filter === 2
              ? up
              : filter === 3
                ? (left + up) >> 1
                : paeth(left, up, upLeft);
      pixels[y * stride + i] = (line[i]! + predicted) & 0xff;
    }
  }
  const at = (x: number, y: number): string => {
    const i = Math.round(y) * stride + Math.round(x) * channels;
    return `#${[pixels[i]!, pixels[i + 1]!, pixels[i + 2]!].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  };
  return {
    width,
    height,
    at,
    count(color, box = { x: 0, y: 0, width, height }, tolerance = 0) {
      const want = channelsOf(color);
      let n = 0;
      for (let y = Math.max(0, Math.floor(box.y)); y < Math.min(height, box.y + box.height); y++)
        for (let x = Math.max(0, Math.floor(box.x)); x < Math.min(width, box.x + box.width); x++) {
          const got = channelsOf(at(x, y));
          if (got.every((v, i) => Math.abs(v - want[i]!) <= tolerance)) n++;
        }
      return n;
    },
  };
}

function channelsOf(color: string): number[] {
  return [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
