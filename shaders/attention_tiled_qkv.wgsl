// Q, K and V of attention_tiled.wgsl as three views (a fused q|k|v row, or a KV cache), read as
// they are. attention_tiled_rope.wgsl is the same interface with RoPE applied on load.

@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;

fn valueAt(i: u32) -> vec4f {
  return v[i];
}

/** Query row (t, h), times the softmax scale. */
fn loadQuery(row: ptr<function, array<vec4f, MAXV>>, t: u32, h: u32) {
  let b = p.qOff + t * p.qStride + h * HD4;
  for (var c = 0u; c < HD4; c++) { (*row)[c] = q[b + c] * p.scale; }
}

/** Key row (key token t, kv head g), times the softmax scale. */
fn loadKey(row: ptr<function, array<vec4f, MAXV>>, t: u32, g: u32) {
  let b = p.kOff + t * p.kStride + g * HD4;
  for (var c = 0u; c < HD4; c++) { (*row)[c] = k[b + c] * p.scale; }
}

/** Keys and values of tokens t0 .. t0 + n - 1, kv head g, into tileA and tileB. */
fn loadKeyValueTiles(lid: u32, t0: u32, n: u32, g: u32) {
  for (var e = lid; e < n * HD4; e += WG) {
    let row = t0 + e / HD4;
    let c = g * HD4 + e % HD4;
    tileA[e] = k[p.kOff + row * p.kStride + c];
    tileB[e] = v[p.vOff + row * p.vStride + c];
  }
}

/** Queries and dO of tokens t0 .. t0 + n - 1, head h, into tileA and tileB. */
fn loadQueryGradTiles(lid: u32, t0: u32, n: u32, h: u32) {
  for (var e = lid; e < n * HD4; e += WG) {
    let t = t0 + e / HD4;
    let c = h * HD4 + e % HD4;
    tileA[e] = q[p.qOff + t * p.qStride + c];
    tileB[e] = dout[p.oOff + t * p.oStride + c];
  }
}

/** Writes the gradient of a q or k row (token t) at grad[b..], times the softmax scale. */
fn storeQueryKeyGrad(row: ptr<function, array<vec4f, MAXV>>, b: u32, t: u32) {
  for (var c = 0u; c < HD4; c++) { grad[b + c] = (*row)[c] * p.scale; }
}
