import type { JsonReader } from './config.ts';
import { CHAR_TO_BYTE, utf8Lossy } from './bytelevel.ts';
import { patternRegex } from './normalizers.ts';

/** A decoder of the `tokenizers` crate: token strings → strings (joined at the end). */
export interface Decoder {
  decodeChain(tokens: string[]): string[];
}

export const DECODER_TYPES = ['ByteLevel', 'Metaspace', 'Sequence', 'Replace', 'ByteFallback', 'Fuse', 'Strip', 'BPEDecoder'] as const;

const encoder = new TextEncoder();

/** Table characters back to bytes; a token with any other character contributes its UTF-8 bytes. */
class ByteLevelDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    const bytes: number[] = [];
    for (const t of tokens) {
      let ok = true;
      for (let k = 0; k < t.length; k++) {
        const c = t.charCodeAt(k);
        if (c >= CHAR_TO_BYTE.length || CHAR_TO_BYTE[c]! < 0) {
          ok = false;
          break;
        }
      }
      if (ok) for (let k = 0; k < t.length; k++) bytes.push(CHAR_TO_BYTE[t.charCodeAt(k)]!);
      else for (const b of encoder.encode(t)) bytes.push(b);
    }
    return [utf8Lossy(bytes)];
  }
}

class MetaspaceDecoder implements Decoder {
  constructor(
    private readonly replacement: string,
    private readonly stripFirst: boolean,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t, i) => {
      let out = '';
      for (const c of t) {
        if (c === this.replacement) {
          if (!(i === 0 && this.stripFirst)) out += ' ';
        } else out += c;
      }
      return out;
    });
  }
}

class ReplaceDecoder implements Decoder {
  constructor(
    private readonly re: RegExp,
    private readonly content: string,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t) => t.replace(this.re, () => this.content));
  }
}

class ByteFallbackDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    const out: string[] = [];
    let pending: number[] = [];
    const flush = (): void => {
      if (!pending.length) return;
      // The crate emits one U+FFFD per byte when the bytes are not valid UTF-8 as a whole.
      if (isValidUtf8(pending)) out.push(utf8Lossy(pending));
      else for (let k = 0; k < pending.length; k++) out.push('\ufffd');
      pending = [];
    };
    for (const t of tokens) {
      const m = t.length === 6 ? /^<0x([0-9A-Fa-f]{2})>$/.exec(t) : null;
      if (m) pending.push(parseInt(m[1]!, 16));
      else {
        flush();
        out.push(t);
      }
    }
    flush();
    return out;
  }
}

function isValidUtf8(bytes: number[]): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    return true;
  } catch {
    return false;
  }
}

class FuseDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    return [tokens.join('')];
  }
}

class StripDecoder implements Decoder {
  constructor(
    private readonly content: string,
    private readonly start: number,
    private readonly stop: number,
  ) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t) => {
      const chars = Array.from(t);
      let a = 0;
      let b = chars.length;
      for (let k = 0; k < this.start && a < b && chars[a] === this.content; k++) a++;
      for (let k = 0; k < this.stop && b > a && chars[b - 1] === this.content; k++) b--;
      return chars.slice(a, b).join('');
    });
  }
}

class BpeSuffixDecoder implements Decoder {
  constructor(private readonly suffix: string) {}
  decodeChain(tokens: string[]): string[] {
    return tokens.map((t, i) => t.split(this.suffix).join(i === tokens.length - 1 ? '' : ' '));
  }
}

class SequenceDecoder implements Decoder {
  constructor(private readonly items: Decoder[]) {}
  decodeChain(tokens: string[]): string[] {
    for (const d of this.items) tokens = d.decodeChain(tokens);
    return tokens;
  }
}

export function buildDecoder(r: JsonReader, value: unknown, path: string): Decoder | null {
  if (value === null || value === undefined) return null;
  const obj = r.object(value, path);
  const type = r.type(obj, path, 'decoder', DECODER_TYPES);
  switch (type) {
    case 'ByteLevel':
      return new ByteLevelDecoder();
    case 'Metaspace': {
      const rep = r.string(obj['replacement'] ?? '\u2581', `${path}.replacement`);
      const ps = obj['prepend_scheme'];
      const stripFirst =
        ps === undefined || ps === null
          ? r.bool(obj['add_prefix_space'], `${path}.add_prefix_space`, true)
          : r.string(ps, `${path}.prepend_scheme`) !== 'never';
      return new MetaspaceDecoder(rep, stripFirst);
    }
    case 'Replace':
      return new ReplaceDecoder(patternRegex(r, obj['pattern'], `${path}.pattern`), r.string(obj['content'], `${path}.content`));
    case 'ByteFallback':
      return new ByteFallbackDecoder();
    case 'Fuse':
      return new FuseDecoder();
    case 'Strip':
      return new StripDecoder(
        r.string(obj['content'], `${path}.content`),
        r.optInt(obj['start'], `${path}.start`, 0),
        r.optInt(obj['stop'], `${path}.stop`, 0),
      );
    case 'BPEDecoder':
      return new BpeSuffixDecoder(r.string(obj['suffix'] ?? '</w>', `${path}.suffix`));
    case 'Sequence': {
      const list = r.array(obj['decoders'], `${path}.decoders`);
      return new SequenceDecoder(list.map((d, k) => buildDecoder(r, d, `${path}.decoders[${k}]`)).filter((d): d is Decoder => d !== null));
    }
  }
  return r.fail(path, `unhandled decoder type "${type}"`);
}
