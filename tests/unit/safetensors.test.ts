import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { bytesSource, memoryTree, type ByteSource } from '../../src/core/formats/bytes.ts';
import { f16BitsToNumber, f32BitsToF16 } from '../../src/core/formats/dtypes.ts';
import {
  bf16ToF32,
  encodeSafetensorsHeader,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  INDEX_FILE,
  SafetensorsFile,
  SafetensorsModel,
  shardName,
  writeSafetensors,
  writeShardedSafetensors,
  type TensorToWrite,
} from '../../src/core/formats/safetensors.ts';
import { nodeFileSource, nodeFileTree } from '../../src/platform/node-files.ts';

const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url));
const demoBase = fileURLToPath(new URL('../../public/models/demo-base', import.meta.url));
const TINY_LLAMA = fixture('hf/models/tiny-llama/model.safetensors');
const TINY_GPT2 = fixture('hf/models/tiny-gpt2/model.safetensors');

/** A ByteSource that counts what is read through it. */
function counting(src: ByteSource): ByteSource & { bytes: number; calls: number } {
  const c = {
    name: src.name,
    size: src.size,
    bytes: 0,
    calls: 0,
    async read(offset: number, length: number) {
      c.bytes += length;
      c.calls++;
      return src.read(offset, length);
    },
  };
  return c;
}

/** Builds a file from header text and a data section of `dataLen` bytes (filled with a ramp). */
function file(header: string, dataLen: number, n?: bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.byteLength + dataLen);
  new DataView(out.buffer).setBigUint64(0, n ?? BigInt(h.byteLength), true);
  out.set(h, 8);
  for (let i = 0; i < dataLen; i++) out[8 + h.byteLength + i] = i & 0xff;
  return out;
}

async function rejects(p: Promise<unknown>, file: string, reason: RegExp, where?: string): Promise<InputError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a rejection').toBeInstanceOf(InputError);
  const e = err as InputError;
  expect(e.file).toBe(file);
  expect(e.message.startsWith(`${file}: `)).toBe(true);
  expect(e.reason).toMatch(reason);
  if (where !== undefined) expect(e.where).toBe(where);
  return e;
}

const open = (name: string, bytes: Uint8Array) => SafetensorsFile.open(bytesSource(name, bytes));

describe('reading the fixture models', () => {
  it('lists tiny-llama tensors with dtypes, shapes and absolute offsets', async () => {
    const f = await SafetensorsFile.open(await nodeFileSource(TINY_LLAMA));
    expect(f.tensors.size).toBe(20);
    expect(f.metadata).toEqual({ format: 'pt' });
    const emb = f.info('model.embed_tokens.weight')!;
    expect(emb).toMatchObject({ dtype: 'F32', shape: [512, 64] });
    expect(emb.begin).toBe(f.dataOffset);
    expect(emb.end - emb.begin).toBe(512 * 64 * 4);
    expect(f.info('model.layers.1.self_attn.k_proj.weight')).toMatchObject({ dtype: 'F32', shape: [32, 64] });
    expect(f.info('model.layers.0.mlp.down_proj.weight')).toMatchObject({ shape: [64, 176] });
    expect(f.info('lm_head.weight')).toBeUndefined();
    // names() is in offset order
    const begins = f.names().map((n) => f.info(n)!.begin);
    expect([...begins].sort((a, b) => a - b)).toEqual(begins);
  });

  it('readF32 of an F32 tensor equals the bytes in the file', async () => {
    const disk = new Uint8Array(await readFile(TINY_GPT2));
    const f = await SafetensorsFile.open(await nodeFileSource(TINY_GPT2));
    expect(f.tensors.size).toBe(28);
    const t = f.info('transformer.h.1.attn.c_attn.weight')!;
    expect(t.shape).toEqual([64, 192]);
    const x = await f.readF32(t.name);
    expect(x.length).toBe(64 * 192);
    const dv = new DataView(disk.buffer, disk.byteOffset);
    for (const i of [0, 1, 777, x.length - 1]) expect(x[i]).toBe(dv.getFloat32(t.begin + 4 * i, true));
    const raw = await f.readRaw(t.name);
    expect(raw).toEqual(disk.subarray(t.begin, t.end));
  });

  it('readF32 of a BF16 tensor (demo-base) matches a manual conversion', async () => {
    const path = `${demoBase}/model.safetensors`;
    const disk = new Uint8Array(await readFile(path));
    const m = await SafetensorsModel.open(nodeFileTree(demoBase));
    const info = m.info('model.layers.0.self_attn.k_proj.weight')!;
    expect(info).toMatchObject({ dtype: 'BF16', shape: [128, 256] });
    const x = await m.readF32(info.name);
    const dv = new DataView(disk.buffer, disk.byteOffset);
    const tmp = new DataView(new ArrayBuffer(4));
    let nonzero = 0;
    for (let i = 0; i < x.length; i++) {
      const bits = dv.getUint16(info.begin + 2 * i, true);
      tmp.setUint32(0, bits * 65536, false);
      expect(x[i]).toBe(tmp.getFloat32(0, false));
      if (x[i] !== 0) nonzero++;
    }
    expect(nonzero).toBeGreaterThan(x.length / 2);
    expect(m.names()).toHaveLength(6 * 9 + 2);
  });

  it('open reads only the length and the header', async () => {
    const src = counting(await nodeFileSource(`${demoBase}/model.safetensors`));
    const f = await SafetensorsFile.open(src);
    expect(src.calls).toBe(2);
    expect(src.bytes).toBe(8 + f.headerSize);
    expect(src.bytes).toBeLessThan(10_000);
    await f.readRaw('model.norm.weight');
    expect(src.calls).toBe(3);
    expect(src.bytes).toBe(8 + f.headerSize + 256 * 2);
  });
});

describe('writer', () => {
  it('writes the reference layout: padded header, __metadata__ format pt, packed data', () => {
    const a = new Float32Array([1, 2, 3]);
    const bytes = writeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [3], data: a },
        { name: 'b', dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0x4000]) },
        { name: 'c', dtype: 'U8', shape: [1, 1], data: new Uint8Array([7]) },
      ],
      { note: 'hi' },
    );
    const dv = new DataView(bytes.buffer);
    const n = Number(dv.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    const trimmed = text.trimEnd();
    expect(text.slice(trimmed.length)).toMatch(/^ {0,7}$/);
    const header = JSON.parse(text);
    expect(Object.keys(header)).toEqual(['__metadata__', 'a', 'b', 'c']);
    expect(header.__metadata__).toEqual({ format: 'pt', note: 'hi' });
    expect(header.a).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
    expect(header.b).toEqual({ dtype: 'BF16', shape: [2], data_offsets: [12, 16] });
    expect(header.c).toEqual({ dtype: 'U8', shape: [1, 1], data_offsets: [16, 17] });
    expect(bytes.byteLength).toBe(8 + n + 17);
    expect(dv.getFloat32(8 + n + 4, true)).toBe(2);
    expect(dv.getUint16(8 + n + 14, true)).toBe(0x4000);
    expect(bytes[8 + n + 16]).toBe(7);
  });

  it('pads with spaces whatever the header length', () => {
    for (let len = 1; len <= 9; len++) {
      const { header } = encodeSafetensorsHeader([{ name: 'x'.repeat(len), dtype: 'F32', shape: [0] }]);
      const n = Number(new DataView(header.buffer).getBigUint64(0, true));
      expect(n % 8).toBe(0);
      expect(header.byteLength).toBe(8 + n);
      const text = new TextDecoder().decode(header.subarray(8));
      expect(text.trimEnd().endsWith('}')).toBe(true);
      expect(/^[^ ]* {0,7}$/.test(text.replace(/"[^"]*"/g, ''))).toBe(true);
    }
  });

  it('reproduces the fixture file byte for byte and reads back identical tensors', async () => {
    for (const path of [TINY_LLAMA, TINY_GPT2, fixture('hf/models/tiny-llama/adapter/adapter_model.safetensors')]) {
      const disk = new Uint8Array(await readFile(path));
      const f = await SafetensorsFile.open(await nodeFileSource(path));
      const tensors: TensorToWrite[] = [];
      for (const name of f.names()) {
        const t = f.info(name)!;
        tensors.push({ name, dtype: t.dtype, shape: t.shape, data: await f.readRaw(name) });
      }
      const out = writeSafetensors(tensors);
      expect(out.byteLength).toBe(disk.byteLength);
      expect(Buffer.from(out).equals(Buffer.from(disk))).toBe(true);
      const back = await open('out.safetensors', out);
      for (const t of tensors) expect(await back.readRaw(t.name)).toEqual(t.data);
    }
  });

  it('refuses data of the wrong size, duplicate names and formats transformers rejects', () => {
    expect(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array(3) }])).toThrow(/needs 8/);
    const t = { name: 'a', dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
    expect(() => writeSafetensors([t, t])).toThrow(/twice/);
    expect(() => writeSafetensors([t], { format: 'np' })).toThrow(/format/);
    expect(() => writeSafetensors([{ ...t, name: '__metadata__' }])).toThrow(/__metadata__/);
  });
});

describe('float conversions', () => {
  const bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0]!;
  const fromBits = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0]!;

  it('f32 → bf16 rounds to nearest even like torch', () => {
    const cases: [number, number][] = [
      [1, 0x3f80],
      [-2, 0xc000],
      [fromBits(0x3f808000), 0x3f80], // halfway, even below
      [fromBits(0x3f818000), 0x3f82], // halfway, even above
      [fromBits(0x3f808001), 0x3f81], // just above halfway
      [Infinity, 0x7f80],
      [-Infinity, 0xff80],
      [3.4028234663852886e38, 0x7f80], // max float rounds up to inf
      [-0, 0x8000],
      [NaN, 0x7fc0],
    ];
    const out = f32ToBf16(new Float32Array(cases.map((c) => c[0])));
    expect([...out]).toEqual(cases.map((c) => c[1]));
    const neg = f32ToBf16(new Float32Array([fromBits(0xffc00001)]));
    expect(neg[0]).toBe(0x7fc0);
  });

  it('bf16 → f32 → bf16 is the identity for every non-NaN value', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToBf16(bf16ToF32(all));
    const bad: number[] = [];
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
      if (!isNaN && back[i] !== i) bad.push(i);
    }
    expect(bad).toEqual([]);
    expect(bf16ToF32(new Uint16Array([0x3f80, 0xc0a0]))).toEqual(new Float32Array([1, -5]));
  });

  it('f16 → f32 is exact and f32 → f16 → f32 round-trips every half', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = f16ToF32(all);
    const back = f32ToF16(f);
    const bad: number[] = [];
    for (let i = 0; i < 65536; i++) {
      const exp = (i >> 10) & 0x1f;
      const isNaN = exp === 0x1f && (i & 0x3ff) !== 0;
      if (isNaN ? !Number.isNaN(f[i]!) : !Object.is(f[i], f16BitsToNumber(i)) || back[i] !== i) bad.push(i);
    }
    expect(bad).toEqual([]);
  });

  it('f32 → f16 picks the nearest half, ties to even, for random values', () => {
    // Independent reference: every finite non-negative half value, sorted, searched by value.
    const halves: number[] = [];
    for (let h = 0; h < 0x7c00; h++) halves.push(f16BitsToNumber(h));
    halves.push(Infinity);
    const nearest = (v: number): number => {
      let lo = 0;
      let hi = halves.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (halves[mid]! <= v) lo = mid;
        else hi = mid;
      }
      if (halves[lo] === v) return lo;
      if (hi === 0x7c00) {
        // Above 65504: IEEE rounds to inf from the halfway point 65520 on.
        return v >= 65520 ? 0x7c00 : lo;
      }
      const dlo = v - halves[lo]!;
      const dhi = halves[hi]! - v;
      if (dlo < dhi) return lo;
      if (dhi < dlo) return hi;
      return lo % 2 === 0 ? lo : hi;
    };
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const values: number[] = [2 ** -25, 1.5 * 2 ** -25, 2 ** -24, 2 ** -14, 65504, 65519, 65520, 70000, 1 / 3];
    for (let i = 0; i < 20000; i++) values.push(Math.fround(2 ** (rand() * 45 - 28) * (1 + rand())));
    // Exact ties between neighbouring halves (all representable in float32), normal and subnormal.
    for (let i = 0; i < 2000; i++) {
      const k = Math.floor(rand() * (0x7bff - 1));
      values.push((halves[k]! + halves[k + 1]!) / 2);
    }
    values.push(1 + 2 ** -11, 1 + 3 * 2 ** -11, 3 * 2 ** -25);
    const xs = new Float32Array(values);
    const got = f32ToF16(xs);
    const bad: string[] = [];
    for (let i = 0; i < xs.length; i++) {
      const want = nearest(xs[i]!);
      if (got[i] !== want || f32BitsToF16(bits(-xs[i]!)) !== (want | 0x8000)) bad.push(`${xs[i]}: ${got[i]} vs ${want}`);
    }
    expect(bad).toEqual([]);
    expect(f32ToF16(new Float32Array([NaN]))[0]).toBe(0x7e00);
  });
});

describe('rejections', () => {
  const ok = (name: string, extra = '') => `"${name}":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}${extra}`;

  it('a file shorter than 8 bytes', async () => {
    await rejects(open('short.safetensors', new Uint8Array(5)), 'short.safetensors', /5 bytes, too short/);
  });

  it('a header length over 100,000,000', async () => {
    await rejects(open('big.safetensors', file('{}', 0, 100_000_001n)), 'big.safetensors', /100,000,000-byte limit/);
    await rejects(open('big.safetensors', file('{}', 0, 2n ** 63n)), 'big.safetensors', /limit/);
  });

  it('a header that runs past the end of the file', async () => {
    await rejects(open('cut.safetensors', file('{}', 0, 1000n)), 'cut.safetensors', /header length 1000 runs past the end of the file \(10 bytes\)/);
  });

  it('a header that is not UTF-8', async () => {
    const bytes = file('{"a":"xx"}', 0);
    bytes[14] = 0xff;
    await rejects(open('utf.safetensors', bytes), 'utf.safetensors', /not valid UTF-8/);
  });

  it('a header that is not JSON or not an object', async () => {
    await rejects(open('j.safetensors', file('{"a":', 0)), 'j.safetensors', /not valid JSON/);
    await rejects(open('j.safetensors', file('[1,2]', 0)), 'j.safetensors', /not a JSON object \(it is an array\)/);
    await rejects(open('j.safetensors', file('\uFEFF{}', 0)), 'j.safetensors', /not valid JSON/);
  });

  it('an unknown dtype, naming the tensor', async () => {
    const h = '{"w":{"dtype":"X99","shape":[1],"data_offsets":[0,4]}}';
    await rejects(open('d.safetensors', file(h, 4)), 'd.safetensors', /unknown dtype "X99"/, 'tensor "w"');
    const f4 = '{"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}';
    await rejects(open('d.safetensors', file(f4, 1)), 'd.safetensors', /F4 .* not supported/, 'tensor "w"');
  });

  it('bad shapes and data_offsets', async () => {
    await rejects(open('s.safetensors', file('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4)), 's.safetensors', /non-negative integers/, 'tensor "w"');
    await rejects(open('s.safetensors', file('{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', 4)), 's.safetensors', /non-negative integers/, 'tensor "w"');
    await rejects(open('s.safetensors', file('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', 4)), 's.safetensors', /data_offsets/, 'tensor "w"');
    await rejects(open('s.safetensors', file('{"w":{"dtype":"F32","data_offsets":[0,4]}}', 4)), 's.safetensors', /missing "shape"/, 'tensor "w"');
    await rejects(open('s.safetensors', file('{"w":[1]}', 4)), 's.safetensors', /not an object/, 'tensor "w"');
    await rejects(open('s.safetensors', file('{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}', 8)), 's.safetensors', /gap|end before/, 'tensor "w"');
  });

  it('a gap between tensors, or before the first', async () => {
    const h = `{${ok('a')},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`;
    await rejects(open('gap.safetensors', file(h, 12)), 'gap.safetensors', /gap of 4 bytes after tensor "a"/, 'tensor "b"');
    const first = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    await rejects(open('gap.safetensors', file(first, 8)), 'gap.safetensors', /gap of 4 bytes after the start of the data/, 'tensor "a"');
  });

  it('overlapping tensors', async () => {
    const h = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    await rejects(open('ov.safetensors', file(h, 12)), 'ov.safetensors', /overlap tensor "a"/, 'tensor "b"');
  });

  it('a byte range that does not match shape × dtype size', async () => {
    const h = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}';
    await rejects(open('sz.safetensors', file(h, 4)), 'sz.safetensors', /hold 4 bytes, but shape \[2\] of F32 needs 8/, 'tensor "w"');
  });

  it('trailing bytes after the last tensor, and a truncated data section', async () => {
    await rejects(open('tr.safetensors', file(`{${ok('w')}}`, 8)), 'tr.safetensors', /4 trailing bytes after tensor "w"/);
    await rejects(open('tr.safetensors', file('{}', 3)), 'tr.safetensors', /3 trailing bytes/);
    const h = '{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}';
    await rejects(open('tr.safetensors', file(h, 10)), 'tr.safetensors', /truncated/, 'tensor "w"');
  });

  it('duplicate keys (which JSON.parse would silently drop)', async () => {
    const h = `{${ok('w')},${ok('w')}}`;
    await rejects(open('dup.safetensors', file(h, 4)), 'dup.safetensors', /"w" more than once/, 'tensor "w"');
    const escaped = `{${ok('w')},${ok('\\u0077')}}`;
    await rejects(open('dup.safetensors', file(escaped, 4)), 'dup.safetensors', /more than once/, 'tensor "w"');
    const nested = '{"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}';
    await rejects(open('dup.safetensors', file(nested, 4)), 'dup.safetensors', /duplicate key "dtype"/, 'tensor "w"');
    const meta = `{"__metadata__":{"format":"pt","format":"pt"},${ok('w')}}`;
    await rejects(open('dup.safetensors', file(meta, 4)), 'dup.safetensors', /duplicate key "format"/, '__metadata__');
  });

  it('metadata that is not a string map', async () => {
    const h = `{"__metadata__":{"format":1},${ok('w')}}`;
    await rejects(open('m.safetensors', file(h, 4)), 'm.safetensors', /not a string/, '__metadata__');
  });

  it('the same keys in another order, with strings that look like structure, are fine', async () => {
    const h = `{"x,\\"y\\":{":{"shape":[1],"data_offsets":[0,4],"dtype":"F32"},"__metadata__":{"a":"}{,"}}`;
    const f = await open('fine.safetensors', file(h, 4));
    expect(f.names()).toEqual(['x,"y":{']);
    expect(f.metadata).toEqual({ a: '}{,' });
  });
});

describe('dtypes and alignment', () => {
  it('reads F32 at an unaligned offset, F16 and F64 as float32', async () => {
    // A 13-byte header puts the data at byte 21: not a multiple of 4.
    const h = '{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"c":{"dtype":"F64","shape":[1],"data_offsets":[12,20]}}';
    const bytes = file(h, 20);
    const start = bytes.byteLength - 20;
    expect(start % 4).not.toBe(0);
    const dv = new DataView(bytes.buffer);
    dv.setUint16(start, 0x3c00, true); // 1.0
    dv.setUint16(start + 2, 0xc100, true); // -2.5
    dv.setFloat32(start + 4, 0.1, true);
    dv.setFloat32(start + 8, -7, true);
    dv.setFloat64(start + 12, 1 / 3, true);
    const f = await open('u.safetensors', bytes);
    expect(await f.readF32('a')).toEqual(new Float32Array([1, -2.5]));
    expect(await f.readF32('b')).toEqual(new Float32Array([0.1, -7]));
    expect(await f.readF32('c')).toEqual(new Float32Array([1 / 3]));
    const raw = await f.readRaw('b');
    expect(raw.byteOffset).toBe(0);
    expect(raw.buffer.byteLength).toBe(8);
    raw[0] = 0; // a copy: the source is untouched
    expect(await f.readF32('b')).toEqual(new Float32Array([0.1, -7]));
  });

  it('accepts F8 and integer tensors in a header but refuses to read them as weights', async () => {
    const h = '{"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]},"i":{"dtype":"I64","shape":[1],"data_offsets":[4,12]},"e":{"dtype":"BOOL","shape":[0],"data_offsets":[12,12]}}';
    const f = await open('f8.safetensors', file(h, 12));
    expect(await f.readRaw('q')).toEqual(new Uint8Array([0, 1, 2, 3]));
    await rejects(f.readF32('q'), 'f8.safetensors', /F8_E4M3 \(8-bit float\) weights are not supported/, 'tensor "q"');
    await rejects(f.readF32('i'), 'f8.safetensors', /I64 is not a floating-point dtype/, 'tensor "i"');
    expect(await f.readRaw('e')).toEqual(new Uint8Array(0));
    await rejects(f.readRaw('nope'), 'f8.safetensors', /no such tensor/, 'tensor "nope"');
  });

  it('accepts a file with no tensors', async () => {
    const f = await open('empty.safetensors', writeSafetensors([]));
    expect(f.tensors.size).toBe(0);
    expect(f.metadata).toEqual({ format: 'pt' });
  });
});

describe('sharded checkpoints', () => {
  const tensors: TensorToWrite[] = [
    { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [4, 2], data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]) },
    { name: 'model.layers.0.mlp.up_proj.weight', dtype: 'BF16', shape: [2, 2], data: f32ToBf16(new Float32Array([0.5, -1, 2, 4])) },
    { name: 'model.norm.weight', dtype: 'F32', shape: [2], data: new Float32Array([9, 10]) },
  ];

  it('writes two shards plus an index and reads them back', async () => {
    const files = writeShardedSafetensors(tensors, { maxShardBytes: 36 });
    expect(Object.keys(files).sort()).toEqual([INDEX_FILE, shardName(0, 2), shardName(1, 2)].sort());
    expect(shardName(0, 2)).toBe('model-00001-of-00002.safetensors');
    const index = JSON.parse(new TextDecoder().decode(files[INDEX_FILE]));
    expect(index.metadata.total_size).toBe(32 + 8 + 8);
    expect(index.weight_map).toEqual({
      'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
      'model.layers.0.mlp.up_proj.weight': 'model-00002-of-00002.safetensors',
      'model.norm.weight': 'model-00002-of-00002.safetensors',
    });
    const m = await SafetensorsModel.open(memoryTree('ckpt', files));
    expect(m.files).toHaveLength(2);
    expect(m.names().sort()).toEqual(tensors.map((t) => t.name).sort());
    expect(await m.readF32('model.embed_tokens.weight')).toEqual(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(await m.readF32('model.layers.0.mlp.up_proj.weight')).toEqual(new Float32Array([0.5, -1, 2, 4]));
    expect(m.info('model.norm.weight')!.file.name).toBe('ckpt/model-00002-of-00002.safetensors');
  });

  it('writes a single model.safetensors when everything fits', async () => {
    const files = writeShardedSafetensors(tensors, { maxShardBytes: 1 << 20 });
    expect(Object.keys(files)).toEqual(['model.safetensors']);
    const m = await SafetensorsModel.open(memoryTree('one', files));
    expect(await m.readF32('model.norm.weight')).toEqual(new Float32Array([9, 10]));
  });

  it('names a missing shard and the index', async () => {
    const files = writeShardedSafetensors(tensors, { maxShardBytes: 36 });
    delete files[shardName(1, 2)];
    const e = await rejects(SafetensorsModel.open(memoryTree('ckpt', files)), `ckpt/${INDEX_FILE}`, /shard file "model-00002-of-00002.safetensors" is missing/);
    expect(e.message).toContain('model-00002-of-00002.safetensors');
  });

  it('names the shard that lacks a tensor the index maps to it', async () => {
    const files = writeShardedSafetensors(tensors, { maxShardBytes: 36 });
    const index = JSON.parse(new TextDecoder().decode(files[INDEX_FILE]));
    index.weight_map['model.norm.weight'] = shardName(0, 2);
    files[INDEX_FILE] = new TextEncoder().encode(JSON.stringify(index));
    await rejects(SafetensorsModel.open(memoryTree('ckpt', files)), `ckpt/${shardName(0, 2)}`, /does not hold it/, 'tensor "model.norm.weight"');
  });

  it('rejects a broken index and a folder without weights', async () => {
    await rejects(SafetensorsModel.open(memoryTree('x', { [INDEX_FILE]: new TextEncoder().encode('{"metadata":{}}') })), `x/${INDEX_FILE}`, /weight_map/);
    await rejects(SafetensorsModel.open(memoryTree('x', { [INDEX_FILE]: new TextEncoder().encode('{"weight_map":{"a":"../a.safetensors"}}') })), `x/${INDEX_FILE}`, /leaves the model folder/);
    await rejects(SafetensorsModel.open(memoryTree('x', {})), 'x', /no model.safetensors or model.safetensors.index.json/);
  });

  it('passes a broken shard error through with the shard name', async () => {
    const files = writeShardedSafetensors(tensors, { maxShardBytes: 36 });
    files[shardName(0, 2)] = files[shardName(0, 2)]!.subarray(0, 30);
    await rejects(SafetensorsModel.open(memoryTree('ckpt', files)), `ckpt/${shardName(0, 2)}`, /runs past the end|truncated/);
  });
});
