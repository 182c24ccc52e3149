import yauzl from 'yauzl';

// Reads an existing zip: every entry's header, and the contents of the entries a caller asks for.

export interface ZipEntryInfo {
  name: string;
  size: number;
  compressedSize: number;
  crc32: number;
  isDirectory: boolean;
  /** Unix mode from the external attributes, when the zip was made on Unix. */
  unixMode: number;
  flags: number;
  method: number;
}

export interface ZipContents {
  entries: ZipEntryInfo[];
  contents: Map<string, Buffer>;
}

export class ZipReadError extends Error {}

export function readZip(
  file: string,
  wanted: (name: string) => boolean = () => false,
  maxWantedBytes = 256 * 1024 * 1024,
): Promise<ZipContents> {
  return new Promise((resolve, reject) => {
    yauzl.open(
      file,
      { lazyEntries: true, autoClose: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: false },
      (openError, zip) => {
        if (openError || !zip)
          return reject(new ZipReadError(`not a readable zip: ${openError?.message ?? 'unknown error'}`));
        const result: ZipContents = { entries: [], contents: new Map() };
        let wantedBytes = 0;
        const fail = (error: Error) => {
          zip.close();
          reject(error instanceof ZipReadError ? error : new ZipReadError(error.message));
        };
        zip.on('error', fail);
        zip.on('end', () => resolve(result));
        zip.on('entry', (entry: yauzl.Entry) => {
          const info: ZipEntryInfo = {
            name: entry.fileName,
            size: entry.uncompressedSize,
            compressedSize: entry.compressedSize,
            crc32: entry.crc32,
            isDirectory: entry.fileName.endsWith('/'),
            unixMode: (entry.externalFileAttributes >>> 16) & 0xffff,
            flags: entry.generalPurposeBitFlag,
            method: entry.compressionMethod,
          };
          result.entries.push(info);
          if (info.isDirectory || !wanted(info.name)) return zip.readEntry();
          wantedBytes += info.size;
          if (wantedBytes > maxWantedBytes)
            return fail(new ZipReadError(`entries to read exceed ${maxWantedBytes} bytes`));
          zip.openReadStream(entry, (streamError, stream) => {
            if (streamError || !stream)
              return fail(new ZipReadError(`${info.name}: ${streamError?.message ?? 'cannot read'}`));
            const chunks: Buffer[] = [];
            stream.on('data', (chunk: Buffer) => chunks.push(chunk));
            stream.on('error', (error) => fail(new ZipReadError(`${info.name}: ${error.message}`)));
            stream.on('end', () => {
              result.contents.set(info.name, Buffer.concat(chunks));
              zip.readEntry();
            });
          });
        });
        zip.readEntry();
      },
    );
  });
}
