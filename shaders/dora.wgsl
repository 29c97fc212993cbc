// DoRA (weight-decomposed LoRA, PEFT's DoraLinearLayer) for one module with out features:
// W' = W + s·B·A, n = ‖W'‖ per output row (over the input dim), mns = m / n with n detached, and
// the module's extra output (mns − 1)·(x Wᵀ) + mns·s·(x Aᵀ Bᵀ) added onto the base output.

struct Params {
  rows: u32, cols: u32, a: u32, b: u32,
  c: u32, d: u32, e: u32, ld: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// ---- norms: one workgroup per output row j of W' [rows, cols] at p.a.
// m at p.b (a NaN magnitude is PEFT's delayed initialisation: m = n at the first forward),
// n at p.c, mns at p.d.
@group(0) @binding(1) var<storage, read> wPrime: array<f32>;
@group(0) @binding(2) var<storage, read_write> mag: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn row_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(256)
fn norms(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = row_index(wid, nwg);
  if (j >= p.rows) { return; }
  var s = 0.0;
  for (var i = lid; i < p.cols; i += 256u) {
    let w = wPrime[p.a + j * p.cols + i];
    s += w * w;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid < k) { partial[lid] += partial[lid + k]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let n = sqrt(partial[0]);
    if (is_nan(mag[p.b + j])) { mag[p.b + j] = n; }
    state[p.c + j] = n;
    state[p.d + j] = mag[p.b + j] / n;
  }
}

// ---- combine: y[t, j] (row stride p.ld, from p.a) += (mns[j] − 1)·base[t, j] + mns[j]·lora[t, j],
// with base and lora dense [rows = T, cols = out] at p.b and p.c, mns at p.d.
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> baseOut: array<f32>;
@group(0) @binding(3) var<storage, read> loraOut: array<f32>;
@group(0) @binding(4) var<storage, read> mnsIn: array<f32>;

@compute @workgroup_size(256)
fn combine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.rows * p.cols) { return; }
  let t = i / p.cols;
  let j = i % p.cols;
  let k = mnsIn[p.d + j];
  y[p.a + t * p.ld + j] += (k - 1.0) * baseOut[p.b + i] + k * loraOut[p.c + i];
}

// ---- split: from dy [T, out] (row stride p.ld, at p.a): dz = dy·mns (at p.b), dbase = dy·(mns − 1) (at p.c).
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dz: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbase: array<f32>;
@group(0) @binding(4) var<storage, read> mnsSplit: array<f32>;

@compute @workgroup_size(256)
fn split(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.rows * p.cols) { return; }
  let t = i / p.cols;
  let j = i % p.cols;
  let k = mnsSplit[p.d + j];
  let g = dy[p.a + t * p.ld + j];
  dz[p.b + i] = g * k;
  dbase[p.c + i] = g * (k - 1.0);
}

// ---- magnitude_grad: one workgroup per feature j: dm[j] (at p.e) += Σ_t dy[t, j]·(base + lora)[t, j] / n[j]
// with dy at p.a (stride p.ld), base at p.b, lora at p.c (dense [T = rows, out = cols]), n at p.d.
@group(0) @binding(1) var<storage, read> dyM: array<f32>;
@group(0) @binding(2) var<storage, read> baseM: array<f32>;
@group(0) @binding(3) var<storage, read> loraM: array<f32>;
@group(0) @binding(4) var<storage, read> normM: array<f32>;
@group(0) @binding(5) var<storage, read_write> dm: array<f32>;

@compute @workgroup_size(256)
fn magnitude_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = row_index(wid, nwg);
  if (j >= p.cols) { return; }
  var s = 0.0;
  for (var t = lid; t < p.rows; t += 256u) {
    let i = t * p.cols + j;
    s += dyM[p.a + t * p.ld + j] * (baseM[p.b + i] + loraM[p.c + i]);
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid < k) { partial[lid] += partial[lid + k]; }
    workgroupBarrier();
  }
  if (lid == 0u) { dm[p.e + j] += partial[0] / normM[p.d + j]; }
}

// ---- scale_rows (merge): W[j, :] (at p.a, [rows, cols]) *= mns[j] (at p.d).
@group(0) @binding(1) var<storage, read_write> wMerge: array<f32>;
@group(0) @binding(2) var<storage, read> mnsMerge: array<f32>;

@compute @workgroup_size(256)
fn scale_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.rows * p.cols) { return; }
  wMerge[p.a + i] *= mnsMerge[p.d + i / p.cols];
}
