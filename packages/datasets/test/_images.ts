import sharp from 'sharp';

/** A `size`×`size` RGB PNG of one grey `value`, for image-folder datasets built by tests. */
export async function writeSolidPng(file: string, value: number, size = 4): Promise<void> {
  await sharp(Buffer.alloc(size * size * 3, value), { raw: { width: size, height: size, channels: 3 } }).png().toFile(file);
}
