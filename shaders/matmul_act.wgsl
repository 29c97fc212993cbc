// Activation epilogue appended to a matmul shader; replaces its store of C (actStore), so the
// elementwise kernel after (forward) or before (backward) the MLP's matmuls is not dispatched.
//   mode 0, 1: C = v (the pre-activation, kept for the backward) and Y = gelu_new(v) or silu(v);
//   mode 2, 3: C = v * act'(Y), Y the saved pre-activation (v is the activation's output gradient);
//   mode 4: SwiGLU backward, Y = gate|up [rows, 2*width]: C[.., n] = v*u*silu'(g), C[.., n + width] = v*silu(g);
//   mode 5: GeGLU backward (Gemma), the same with gelu_new in place of silu.
// The wrapper (matmul-epilogue.ts) sets the binding numbers to follow the shader's own.

struct ActEpilogue {
  mode: u32, width: u32, yOff: u32, ldy: u32,
}

@group(0) @binding(ACT_BINDING) var<uniform> ae: ActEpilogue;
@group(0) @binding(ACT_BINDING_Y) var<storage, read_write> aeY: array<f32>;

const AE_SQRT_2_OVER_PI = 0.7978845608028654;
const AE_GELU_C = 0.044715;

fn aeTanh(v: f32) -> f32 {
  let e = exp(2.0 * clamp(v, -15.0, 15.0));
  return (e - 1.0) / (e + 1.0);
}

fn aeSigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

fn actStore(idx: u32, m: u32, n: u32, v: f32) {
  let y = ae.yOff + m * ae.ldy + n;
  switch ae.mode {
    case 0u: {
      c[idx] = v;
      aeY[y] = 0.5 * v * (1.0 + aeTanh(AE_SQRT_2_OVER_PI * (v + AE_GELU_C * v * v * v)));
    }
    case 1u: {
      c[idx] = v;
      aeY[y] = v * aeSigmoid(v);
    }
    case 2u: {
      let x = aeY[y];
      let t = aeTanh(AE_SQRT_2_OVER_PI * (x + AE_GELU_C * x * x * x));
      c[idx] = v * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * AE_SQRT_2_OVER_PI * (1.0 + 3.0 * AE_GELU_C * x * x));
    }
    case 3u: {
      let x = aeY[y];
      let s = aeSigmoid(x);
      c[idx] = v * s * (1.0 + x * (1.0 - s));
    }
    case 5u: {
      let g = aeY[y];
      let u = aeY[y + ae.width];
      let t = aeTanh(AE_SQRT_2_OVER_PI * (g + AE_GELU_C * g * g * g));
      c[idx] = v * u * (0.5 * (1.0 + t) + 0.5 * g * (1.0 - t * t) * AE_SQRT_2_OVER_PI * (1.0 + 3.0 * AE_GELU_C * g * g));
      c[idx + ae.width] = v * 0.5 * g * (1.0 + t);
    }
    default: {
      let g = aeY[y];
      let u = aeY[y + ae.width];
      let s = aeSigmoid(g);
      c[idx] = v * u * s * (1.0 + g * (1.0 - s));
      c[idx + ae.width] = v * g * s;
    }
  }
}
