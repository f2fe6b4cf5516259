/**
 * A small, fast, seeded pseudo-random generator: sfc32 (Chris Doty-Humphrey's Small Fast Chaotic
 * generator, as in PractRand) with four 32-bit state words, seeded through splitmix32.
 *
 * Every draw is made from 32-bit integer arithmetic, so the uniform stream ({@linkcode Rng.next},
 * {@linkcode Rng.nextInt}, {@linkcode Rng.shuffle}) is bit-identical on every platform and engine.
 * {@linkcode Rng.normal} also calls `Math.log`, `Math.sqrt` and `Math.cos`; those give the same
 * bits wherever Deno (V8) runs, but the ECMAScript specification lets other engines differ in the
 * last bit.
 *
 * @example Reproducible draws
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = new Rng(42), b = new Rng(42);
 * console.log(a.next() === b.next()); // true
 * ```
 *
 * @module
 */

const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_53 = 2 ** 53;

/** splitmix32 (the murmur3 finalizer over a Weyl sequence): expands one seed into state words. */
function splitmix32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
}

/**
 * A seeded generator of uniform floats, integers, normal deviates and shuffles.
 *
 * The state is four 32-bit words ({@linkcode Rng.state}); {@linkcode Rng.fromState} restores it,
 * so a training run can checkpoint its generator and resume the same stream.
 *
 * @example Seed, draw, save and restore
 * ```ts
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(7);
 * rng.next();
 * const saved = rng.state();
 * const x = rng.nextInt(10);
 * console.log(Rng.fromState(saved).nextInt(10) === x); // true
 * ```
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /**
   * Creates a generator from a seed. Seeds are safe integers (negative ones too); the low and high
   * 32 bits are folded into one word that seeds splitmix32, which fills the sfc32 state.
   *
   * @param seed A safe integer (`Number.isSafeInteger`).
   * @returns A generator; the same seed always gives the same stream.
   * @example Two generators from one seed agree
   * ```ts
   * import { Rng } from "./rng.ts";
   * console.log(new Rng(1).nextInt(100) === new Rng(1).nextInt(100)); // true
   * ```
   */
  constructor(seed: number) {
    if (typeof seed !== "number") {
      throw new TypeError(`Rng seed must be a number, got ${typeof seed}; pass an integer seed`);
    }
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(
        `Rng seed must be a safe integer, got ${seed}; pass an integer between ` +
          `${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`,
      );
    }
    const lo = seed | 0;
    const hi = Math.floor(seed / TWO_POW_32) | 0;
    const mix = splitmix32(lo ^ Math.imul(hi, 0x27d4eb2f));
    this.#a = mix();
    this.#b = mix();
    this.#c = mix();
    this.#d = 1;
    // Warm up so that nearby seeds have decorrelated first outputs (PractRand's sfc32 seeding).
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /**
   * Restores a generator from words returned by {@linkcode Rng.state}.
   *
   * @param state Four integers in [0, 2^32).
   * @returns A generator that continues exactly where the saved one stood.
   * @example Resume a stream
   * ```ts
   * import { Rng } from "./rng.ts";
   * const rng = new Rng(3);
   * const copy = Rng.fromState(rng.state());
   * console.log(copy.next() === rng.next()); // true
   * ```
   */
  static fromState(state: readonly number[]): Rng {
    if (!Array.isArray(state) || state.length !== 4) {
      throw new TypeError(
        "Rng state must be an array of 4 numbers, as returned by Rng.prototype.state()",
      );
    }
    state.forEach((w, i) => {
      if (typeof w !== "number") {
        throw new TypeError(`Rng state word ${i} must be a number, got ${typeof w}`);
      }
      if (!Number.isInteger(w) || w < 0 || w >= TWO_POW_32) {
        throw new RangeError(
          `Rng state word ${i} must be an integer in [0, 2^32), got ${w}; ` +
            "pass the words returned by Rng.prototype.state() unchanged",
        );
      }
    });
    const rng = new Rng(0);
    rng.#a = state[0] | 0;
    rng.#b = state[1] | 0;
    rng.#c = state[2] | 0;
    rng.#d = state[3] | 0;
    return rng;
  }

  /**
   * The four state words, for checkpoints.
   *
   * @returns A new array of four integers in [0, 2^32).
   * @example Save the state as JSON
   * ```ts
   * import { Rng } from "./rng.ts";
   * const json = JSON.stringify(new Rng(5).state());
   * console.log(Rng.fromState(JSON.parse(json)).next() === new Rng(5).next()); // true
   * ```
   */
  state(): number[] {
    return [this.#a >>> 0, this.#b >>> 0, this.#c >>> 0, this.#d >>> 0];
  }

  /**
   * The next raw 32-bit output of sfc32 (the primitive every other draw is built from).
   *
   * @returns An integer in [0, 2^32).
   * @example A raw word
   * ```ts
   * import { Rng } from "./rng.ts";
   * const w = new Rng(9).nextUint32();
   * console.log(Number.isInteger(w) && w >= 0 && w < 2 ** 32); // true
   * ```
   */
  nextUint32(): number {
    // sfc32 step: PractRand's sfc32 with shifts (9, 3) and rotation 21.
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (((this.#c << 21) | (this.#c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /**
   * A uniform float in [0, 1) with 53 random bits (two 32-bit outputs).
   *
   * @returns A number `x` with `0 <= x < 1`.
   * @example A uniform draw
   * ```ts
   * import { Rng } from "./rng.ts";
   * const x = new Rng(11).next();
   * console.log(x >= 0 && x < 1); // true
   * ```
   */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /**
   * A uniform integer in [0, n), without modulo bias (rejection sampling on 32-bit outputs).
   *
   * @param n The number of outcomes: an integer in [1, 2^32].
   * @returns An integer `k` with `0 <= k < n`.
   * @example Roll a die
   * ```ts
   * import { Rng } from "./rng.ts";
   * const face = new Rng(2).nextInt(6) + 1;
   * console.log(face >= 1 && face <= 6); // true
   * ```
   */
  nextInt(n: number): number {
    if (typeof n !== "number") {
      throw new TypeError(`nextInt(n): n must be a number, got ${typeof n}`);
    }
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`nextInt(n): n must be an integer in [1, 2^32], got ${n}`);
    }
    // Accept only outputs below the largest multiple of n, so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /**
   * A standard normal deviate N(0, 1) by the Box–Muller transform (two uniform draws per call; the
   * second deviate of the pair is not kept, so the state stays the four words).
   *
   * @returns A normally distributed number with mean 0 and variance 1.
   * @example Scaled initial weights
   * ```ts
   * import { Rng } from "./rng.ts";
   * const rng = new Rng(0);
   * const w = Float64Array.from({ length: 4 }, () => 0.01 * rng.normal());
   * console.log(w.length); // 4
   * ```
   */
  normal(): number {
    const u1 = 1 - this.next(); // (0, 1], so the log is finite
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Shuffles an array in place with the Fisher–Yates algorithm (Durstenfeld's form, from the end).
   *
   * @param a The array or typed array to permute; every permutation is equally likely.
   * @returns Nothing; `a` is permuted in place.
   * @example Shuffle positions
   * ```ts
   * import { Rng } from "./rng.ts";
   * const a = [0, 1, 2, 3, 4];
   * new Rng(1).shuffle(a);
   * console.log([...a].sort().join()); // "0,1,2,3,4"
   * ```
   */
  shuffle(a: { length: number; [i: number]: number }): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
