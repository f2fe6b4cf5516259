// deno-fmt-ignore-file -- deno fmt drops AssemblyScript's @inline decorators; formatted by hand.
// assembly/fma.ts — the multiply-add of the GEMM tiles. The relaxed-SIMD build (where the engine
// has relaxed SIMD) uses f32x4.relaxed_madd, which the CPU may fuse into one instruction; the
// baseline build multiplies and adds. The choice is made at compile time, so neither build pays
// a branch.

/** c + a·b, fused where the build and the CPU allow. a, b, c: f32x4. */
@inline export function madd4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
