import { createHash } from 'node:crypto';

// buildChecksum() of Conn2Flow's generator: MD5 over the raw bytes, `combined` over the concatenated
// contents (not over the hashes); an empty or missing part gives ''.
export interface ResourceChecksum {
  html: string;
  css: string;
  combined: string;
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

export function resourceChecksum(html: Buffer | null, css: Buffer | null): ResourceChecksum {
  const h = html === null || html.length === 0 ? '' : md5(html);
  const c = css === null || css.length === 0 ? '' : md5(css);
  const combined = h === '' && c === '' ? '' : md5(Buffer.concat([html ?? Buffer.alloc(0), css ?? Buffer.alloc(0)]));
  return { html: h, css: c, combined };
}

/** The `checksum` column value: json_encode($cks, JSON_UNESCAPED_UNICODE), a JSON *string*. */
export function checksumColumn(sum: ResourceChecksum): string {
  return `{"html":"${sum.html}","css":"${sum.css}","combined":"${sum.combined}"}`;
}
