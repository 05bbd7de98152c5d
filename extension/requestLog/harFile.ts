/** Writes a HAR file entry by entry (har.ts's harJson), so its size is bounded by the disk, not by a string. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { type HarOptions, type HarSource, harJson } from './har.js';

/**
 * Writes `sources` as HAR 1.2 to `file`. The text goes to a temporary file beside it first, renamed
 * over `file` once complete: a failure (a full disk) leaves no half-written HAR, nor a broken one
 * in place of the file that was there.
 */
export async function writeHarFile(file: string, sources: readonly HarSource[], options: HarOptions): Promise<void> {
  const partial = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.partial`);
  const handle = await fs.open(partial, 'w');
  try {
    try {
      for (const chunk of harJson(sources, options)) await handle.write(chunk);
      await handle.write('\n');
    } finally {
      await handle.close();
    }
    await fs.rename(partial, file);
  } catch (error) {
    await fs.rm(partial, { force: true });
    throw error;
  }
}
