/**
 * What --har keeps and writes: the last DEFAULT_MAX_ENTRIES requests, each with the URL it came in
 * at, so memory stays bounded however long the share runs; written entry by entry when the CLI stops.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RequestRecord } from '../agent/requestRecord.js';
import type { HarSource } from '../requestLog/har.js';
import { writeHarFile } from '../requestLog/harFile.js';
import { DEFAULT_MAX_ENTRIES, RequestLog } from '../requestLog/requestLog.js';
import type { Output } from './output.js';
import { UsageError } from './usage.js';

export class HarLog {
  private readonly file: string;
  private readonly log = new RequestLog<HarSource>(DEFAULT_MAX_ENTRIES);

  /** Refuses at once (a UsageError) a file whose folder cannot be written, rather than after a whole session. */
  constructor(file: string) {
    this.file = path.resolve(file);
    try {
      fs.accessSync(path.dirname(this.file), fs.constants.W_OK);
    } catch {
      throw new UsageError(`--har ${file}: cannot write in ${path.dirname(this.file)} (does the folder exist?).`);
    }
  }

  /** A finished request and the public URL it came in at (the same across reconnects). */
  add(record: RequestRecord, baseUrl: string): void {
    this.log.add({ record, baseUrl });
  }

  /** Writes the file and says so (the har event); false, with a message on stderr, when it cannot. */
  async write(say: Output): Promise<boolean> {
    const sources = this.log.entries().map((entry) => entry.record);
    try {
      await writeHarFile(this.file, sources, { keepMore: '--capture-bytes' });
    } catch (error) {
      process.stderr.write(`porthole: could not write the HAR file ${this.file}: ${(error as Error).message}\n`);
      return false;
    }
    say(
      'har',
      { file: this.file, entries: sources.length },
      `Wrote ${sources.length} request${sources.length === 1 ? '' : 's'} to ${this.file} (HAR 1.2).`,
    );
    return true;
  }
}
