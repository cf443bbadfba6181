#!/usr/bin/env node
// Draws the Liaison icon (a white cross on a blue rounded square) and writes what electron-builder and the tray
// need: icon.png (512 px), icon.ico (Windows), icon.icns (macOS), tray.png and tray@2x.png.
// No image library: PNG is zlib-compressed RGBA rows, and ICO and ICNS can both hold PNG images as they are.
// Run it again after changing the drawing: node resources/build/generate-icons.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const here = new URL('./', import.meta.url);

/** Coverage of the icon's shapes at (x, y) in a 0..1 square: [background, cross]. */
function shapes(x, y) {
  const inRoundedSquare = (inset, radius) => {
    const dx = Math.max(Math.abs(x - 0.5) - (0.5 - inset - radius), 0);
    const dy = Math.max(Math.abs(y - 0.5) - (0.5 - inset - radius), 0);
    return dx * dx + dy * dy <= radius * radius;
  };
  const arm = 0.11;
  const length = 0.3;
  const inCross = (Math.abs(x - 0.5) <= arm && Math.abs(y - 0.5) <= length) || (Math.abs(y - 0.5) <= arm && Math.abs(x - 0.5) <= length);
  return [inRoundedSquare(0.04, 0.2), inCross];
}

function draw(size) {
  const samples = 4;
  const pixels = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let background = 0;
      let cross = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const [inBackground, inCross] = shapes((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size);
          if (inBackground) background++;
          if (inBackground && inCross) cross++;
        }
      }
      const total = samples * samples;
      const t = py / size; // a light vertical gradient
      const blue = [Math.round(0x1f + 0x10 * (1 - t)), Math.round(0x5f + 0x20 * (1 - t)), Math.round(0xa8 + 0x20 * (1 - t))];
      const white = cross / Math.max(background, 1);
      const offset = (py * size + px) * 4;
      for (let channel = 0; channel < 3; channel++) pixels[offset + channel] = Math.round(blue[channel] * (1 - white) + 255 * white);
      pixels[offset + 3] = Math.round((255 * background) / total);
    }
  }
  return pixels;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buffer) => {
  let crc = 0xffffffff;
  for (const byte of buffer) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
};

function png(size) {
  const pixels = draw(size);
  const rows = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) pixels.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const chunk = (type, data) => {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(data.length, 0);
    header.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([header.subarray(4), data])), 0);
    return Buffer.concat([header, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits per channel, RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

function ico(sizes) {
  const images = sizes.map(png);
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach((image, index) => {
    const entry = 6 + 16 * index;
    header[entry] = sizes[index] >= 256 ? 0 : sizes[index]; // 0 means 256
    header[entry + 1] = sizes[index] >= 256 ? 0 : sizes[index];
    header.writeUInt16LE(1, entry + 4); // colour planes
    header.writeUInt16LE(32, entry + 6); // bits per pixel
    header.writeUInt32LE(image.length, entry + 8);
    header.writeUInt32LE(offset, entry + 12);
    offset += image.length;
  });
  return Buffer.concat([header, ...images]);
}

function icns(entries) {
  const parts = entries.map(([type, size]) => {
    const image = png(size);
    const header = Buffer.alloc(8);
    header.write(type, 0, 'ascii');
    header.writeUInt32BE(image.length + 8, 4);
    return Buffer.concat([header, image]);
  });
  const header = Buffer.alloc(8);
  header.write('icns', 0, 'ascii');
  header.writeUInt32BE(8 + parts.reduce((sum, part) => sum + part.length, 0), 4);
  return Buffer.concat([header, ...parts]);
}

writeFileSync(new URL('icon.png', here), png(512));
writeFileSync(new URL('icon.ico', here), ico([16, 32, 48, 256]));
writeFileSync(new URL('icon.icns', here), icns([['ic07', 128], ['ic08', 256], ['ic09', 512], ['ic10', 1024]]));
writeFileSync(new URL('tray.png', here), png(16));
writeFileSync(new URL('tray@2x.png', here), png(32));
