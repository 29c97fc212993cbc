// Q, K and V of attention_tiled.wgsl as views of one fused q|k|v buffer, with RoPE applied as q and
// k rows are read (split-half as transformers' rotate_half, as rope.wgsl does) and its transpose
// applied to dQ and dK as they are written, so no separate rope pass runs before or after. A head
// row's two halves are loaded by the same invocation, so each rotated pair is at hand. cos/sin
// come from rope.wgsl's float64-built table [positions, head_dim/2, 2] (read as vec4: two pairs),
// at each token's position; head_dim is a multiple of 8 so each half is whole vec4s.

@group(0) @binding(1) var<storage, read> qkv: array<vec4f>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> table: array<vec4f>;

struct Rotation { c: vec4f, s: vec4f }

fn valueAt(i: u32) -> vec4f {
  return qkv[i];
}

fn position(t: u32) -> u32 {
  return min(positions[p.posOff + t], p.maxPos - 1u);
}

/** cos and sin for dims 4c .. 4c + 3 of a head (and their partners half a head on) at `pos`. */
fn rotation(pos: u32, c: u32) -> Rotation {
  let i = p.tableOff4 + pos * HD4 + 2u * c;
  let a = table[i];
  let b = table[i + 1u];
  return Rotation(vec4f(a.x, a.z, b.x, b.z), vec4f(a.y, a.w, b.y, b.w));
}

/** The row at qkv[b..] rotated to `pos`, times `scale`. */
fn loadRotated(row: ptr<function, array<vec4f, MAXV>>, b: u32, pos: u32, scale: f32) {
  for (var c = 0u; c < HD4 / 2u; c++) {
    let r = rotation(pos, c);
    let x1 = qkv[b + c];
    let x2 = qkv[b + c + HD4 / 2u];
    (*row)[c] = (x1 * r.c - x2 * r.s) * scale;
    (*row)[c + HD4 / 2u] = (x2 * r.c + x1 * r.s) * scale;
  }
}

fn loadQuery(row: ptr<function, array<vec4f, MAXV>>, t: u32, h: u32) {
  loadRotated(row, p.qOff + t * p.qStride + h * HD4, position(t), p.scale);
}

fn loadKey(row: ptr<function, array<vec4f, MAXV>>, t: u32, g: u32) {
  loadRotated(row, p.kOff + t * p.kStride + g * HD4, position(t), p.scale);
}

/** tileA[i] and tileA[i + half a head]: the pair x1, x2 of token t's row at dims 4c.., rotated. */
fn storeRotatedPair(i: u32, x1: vec4f, x2: vec4f, t: u32, c: u32) {
  let r = rotation(position(t), c);
  tileA[i] = x1 * r.c - x2 * r.s;
  tileA[i + HD4 / 2u] = x2 * r.c + x1 * r.s;
}

/** Keys (rotated) and values of tokens t0 .. t0 + n - 1, kv head g, into tileA and tileB; one work item per pair. */
fn loadKeyValueTiles(lid: u32, t0: u32, n: u32, g: u32) {
  let half = HD4 / 2u;
  for (var e = lid; e < n * half; e += WG) {
    let row = e / half;
    let c = e % half;
    let kb = p.kOff + (t0 + row) * p.kStride + g * HD4 + c;
    let vb = p.vOff + (t0 + row) * p.vStride + g * HD4 + c;
    let i = row * HD4 + c;
    storeRotatedPair(i, qkv[kb], qkv[kb + half], t0 + row, c);
    tileB[i] = qkv[vb];
    tileB[i + half] = qkv[vb + half];
  }
}

/** Queries (rotated) and dO of tokens t0 .. t0 + n - 1, head h, into tileA and tileB; one work item per pair. */
fn loadQueryGradTiles(lid: u32, t0: u32, n: u32, h: u32) {
  let half = HD4 / 2u;
  for (var e = lid; e < n * half; e += WG) {
    let row = e / half;
    let c = e % half;
    let qb = p.qOff + (t0 + row) * p.qStride + h * HD4 + c;
    let ob = p.oOff + (t0 + row) * p.oStride + h * HD4 + c;
    let i = row * HD4 + c;
    storeRotatedPair(i, qkv[qb], qkv[qb + half], t0 + row, c);
    tileB[i] = dout[ob];
    tileB[i + half] = dout[ob + half];
  }
}

/** The gradient of a rotated row, rotated back (the transpose: sin negated), times the softmax scale. */
fn storeQueryKeyGrad(row: ptr<function, array<vec4f, MAXV>>, b: u32, t: u32) {
  let pos = position(t);
  for (var c = 0u; c < HD4 / 2u; c++) {
    let r = rotation(pos, c);
    let g1 = (*row)[c];
    let g2 = (*row)[c + HD4 / 2u];
    grad[b + c] = (g1 * r.c + g2 * r.s) * p.scale;
    grad[b + c + HD4 / 2u] = (g2 * r.c - g1 * r.s) * p.scale;
  }
}
