/**
 * The kernel table: every kernel's name and arguments, in order, with each buffer's role (read,
 * written, or both) and length. One table for every place a kernel is named: the
 * {@linkcode Backend} interface must have exactly these methods with these arities (checked by
 * the compiler below), the AssemblyScript exports in `assembly/` must have these parameters in this
 * order, and the parity tests and kernel benchmarks key their cases by these names (checked in
 * `tests/kernel_table_test.ts`), so a kernel cannot be missing from one of them. The threaded
 * backend reads the roles to know which kernels may overlap.
 *
 * @module
 */
import { type Backend, STATS_SLOTS } from "./types.ts";

/** What a kernel does with a buffer argument. */
export type Role = "in" | "out" | "inout";

/** The sizes of one call, by argument name (`m`, `k`, `n`, `t`, `b`, `h`, `v`). */
export type Sizes = Readonly<Record<string, number>>;

/** A buffer argument: floats, token indices or scalar slots. */
export interface BufferArg {
  /** The argument's name, as in the AssemblyScript export. */
  readonly name: string;
  /** What the buffer holds. */
  readonly type: "float" | "index" | "scalar";
  /** Read, written, or read and written. */
  readonly role: Role;
  /** Elements the buffer must hold at least, from the call's sizes. */
  readonly length: (s: Sizes) => number;
  /** May be `undefined` (then the kernel does without it). */
  readonly optional?: boolean;
  /** Required when the call's GRU variant is this one, ignored otherwise (the bias `b_hn`). */
  readonly withVariant?: "pytorch";
}

/** A weight packed by `packWeights`. */
export interface PackedArg {
  /** The argument's name. */
  readonly name: string;
  /** A packed weight. */
  readonly type: "packed";
  /** Read by every kernel but `packWeights`, which writes it. */
  readonly role: Role;
  /** The weight's rows and columns, from the call's sizes. */
  readonly shape: (s: Sizes) => readonly [number, number];
  /** May be `undefined`. */
  readonly optional?: boolean;
}

/** A size (a non-negative 32-bit integer), a number, or a named choice. */
export interface ValueArg {
  /** The argument's name. */
  readonly name: string;
  /** Its type. */
  readonly type: "size" | "number" | "activation" | "variant";
}

/** One argument of a kernel. */
export type KernelArg = BufferArg | PackedArg | ValueArg;

/** One kernel: its arguments in order. */
export interface KernelSpec {
  /** The arguments, in the order of the Backend method and the AssemblyScript export. */
  readonly args: readonly KernelArg[];
}

const f = (name: string, role: Role, length: (s: Sizes) => number): BufferArg => ({
  name,
  type: "float",
  role,
  length,
});
const ix = (name: string, length: (s: Sizes) => number): BufferArg => ({
  name,
  type: "index",
  role: "in",
  length,
});
const stats = (role: Role, optional = false): BufferArg => ({
  name: "stats",
  type: "scalar",
  role,
  length: () => STATS_SLOTS,
  ...(optional ? { optional } : {}),
});
// Tuples, so the compiler knows each kernel's arity.
const size = <N extends string[]>(...names: N) =>
  names.map((name) => ({ name, type: "size" })) as { [I in keyof N]: ValueArg };
const num = <N extends string[]>(...names: N) =>
  names.map((name) => ({ name, type: "number" })) as { [I in keyof N]: ValueArg };
const packed = (name: string, role: Role, shape: (s: Sizes) => [number, number]): PackedArg => ({
  name,
  type: "packed",
  role,
  shape,
  ...(role === "in" ? { optional: true } : {}),
});

const states = (s: Sizes) => (s.t + 1) * s.b * s.h;
const steps = (s: Sizes) => s.t * s.b * s.h;
const gates = (g: number) => (s: Sizes) => s.t * s.b * g * s.h;
const square = (g: number) => (s: Sizes) => g * s.h * s.h;

/** The kernels, by name (see the module doc). */
export const KERNELS = {
  matmulNN: {
    args: [
      f("c", "inout", (s) => s.m * s.n),
      f("a", "in", (s) => s.m * s.k),
      f("b", "in", (s) => s.k * s.n),
      ...size("m", "k", "n"),
    ],
  },
  matmulNT: {
    args: [
      f("c", "inout", (s) => s.m * s.n),
      f("a", "in", (s) => s.m * s.k),
      f("b", "in", (s) => s.n * s.k),
      ...size("m", "k", "n"),
    ],
  },
  matmulTN: {
    args: [
      f("c", "inout", (s) => s.m * s.n),
      f("a", "in", (s) => s.k * s.m),
      f("b", "in", (s) => s.k * s.n),
      ...size("m", "k", "n"),
    ],
  },
  packWeights: {
    args: [
      packed("dst", "out", (s) => [s.k, s.n]),
      f("b", "in", (s) => s.k * s.n),
      ...size("k", "n"),
    ],
  },
  matmulPacked: {
    args: [f("c", "inout", (s) => s.m * s.n), f("a", "in", (s) => s.m * s.k), {
      ...packed("b", "in", (s) => [s.k, s.n]),
      optional: false,
    }, ...size("m", "k", "n")],
  },
  packInt8: {
    args: [
      packed("dst", "out", (s) => [s.k, s.n]),
      f("b", "in", (s) => s.k * s.n),
      ...size("k", "n"),
    ],
  },
  matmulInt8: {
    args: [f("c", "inout", (s) => s.m * s.n), f("a", "in", (s) => s.m * s.k), {
      ...packed("b", "in", (s) => [s.k, s.n]),
      optional: false,
    }, ...size("m", "k", "n")],
  },
  biasForward: {
    args: [f("y", "inout", (s) => s.m * s.n), f("bias", "in", (s) => s.n), ...size("m", "n")],
  },
  biasBackward: {
    args: [f("dbias", "inout", (s) => s.n), f("dy", "in", (s) => s.m * s.n), ...size("m", "n")],
  },
  tanhForward: { args: [f("y", "out", (s) => s.n), f("x", "in", (s) => s.n), ...size("n")] },
  tanhBackward: {
    args: [
      f("dx", "inout", (s) => s.n),
      f("y", "in", (s) => s.n),
      f("dy", "in", (s) => s.n),
      ...size("n"),
    ],
  },
  sigmoidForward: { args: [f("y", "out", (s) => s.n), f("x", "in", (s) => s.n), ...size("n")] },
  sigmoidBackward: {
    args: [
      f("dx", "inout", (s) => s.n),
      f("y", "in", (s) => s.n),
      f("dy", "in", (s) => s.n),
      ...size("n"),
    ],
  },
  reluForward: { args: [f("y", "out", (s) => s.n), f("x", "in", (s) => s.n), ...size("n")] },
  reluBackward: {
    args: [
      f("dx", "inout", (s) => s.n),
      f("y", "in", (s) => s.n),
      f("dy", "in", (s) => s.n),
      ...size("n"),
    ],
  },
  gatherRowsForward: {
    args: [
      f("out", "inout", (s) => s.n * s.h),
      ix("idx", (s) => s.n),
      f("w", "in", (s) => s.h),
      ...size("n", "h"),
    ],
  },
  gatherRowsBackward: {
    args: [
      f("dw", "inout", (s) => s.h),
      ix("idx", (s) => s.n),
      f("dout", "in", (s) => s.n * s.h),
      ...size("n", "h"),
    ],
  },
  argmaxRows: {
    args: [
      { name: "out", type: "index", role: "out", length: (s) => s.m },
      f("x", "in", (s) => s.m * s.n),
      ...size("m", "n"),
    ],
  },
  softmaxXentForward: {
    args: [
      f("probs", "out", (s) => s.m * s.v),
      f("logits", "in", (s) => s.m * s.v),
      ix("targets", (s) => s.m),
      ...size("m", "v"),
      stats("inout"),
    ],
  },
  softmaxXentBackward: {
    args: [
      f("dlogits", "out", (s) => s.m * s.v),
      f("probs", "in", (s) => s.m * s.v),
      ix("targets", (s) => s.m),
      ...size("m", "v"),
      ...num("scale"),
    ],
  },
  rnnForward: {
    args: [
      f("states", "inout", states),
      f("zin", "in", steps),
      f("whh", "in", square(1)),
      ...size("t", "b", "h"),
      { name: "act", type: "activation" } as ValueArg,
      packed("whhPacked", "in", (s) => [s.h, s.h]),
    ],
  },
  rnnBackward: {
    args: [
      f("dzin", "inout", steps),
      f("dwhh", "inout", square(1)),
      f("dstates", "inout", states),
      f("states", "in", states),
      f("whh", "in", square(1)),
      ...size("t", "b", "h"),
      { name: "act", type: "activation" } as ValueArg,
    ],
  },
  gruForward: {
    args: [
      f("states", "inout", states),
      f("gates", "out", gates(3)),
      f("hn", "out", steps),
      f("zin", "in", gates(3)),
      f("whh", "in", square(3)),
      { ...f("bhn", "in", (s) => s.h), optional: true, withVariant: "pytorch" },
      ...size("t", "b", "h"),
      { name: "variant", type: "variant" } as ValueArg,
      packed("whhPacked", "in", (s) => [s.h, 3 * s.h]),
    ],
  },
  gruBackward: {
    args: [
      f("dzin", "inout", gates(3)),
      f("dwhh", "inout", square(3)),
      { ...f("dbhn", "inout", (s) => s.h), optional: true, withVariant: "pytorch" },
      f("dstates", "inout", states),
      f("states", "in", states),
      f("gates", "in", gates(3)),
      f("hn", "in", steps),
      f("whh", "in", square(3)),
      ...size("t", "b", "h"),
      { name: "variant", type: "variant" } as ValueArg,
    ],
  },
  lstmForward: {
    args: [
      f("states", "inout", states),
      f("cells", "inout", states),
      f("gates", "out", gates(4)),
      f("zin", "in", gates(4)),
      f("whh", "in", square(4)),
      ...size("t", "b", "h"),
      packed("whhPacked", "in", (s) => [s.h, 4 * s.h]),
    ],
  },
  lstmBackward: {
    args: [
      f("dzin", "inout", gates(4)),
      f("dwhh", "inout", square(4)),
      f("dstates", "inout", states),
      f("dcells", "inout", states),
      f("states", "in", states),
      f("cells", "in", states),
      f("gates", "in", gates(4)),
      f("whh", "in", square(4)),
      ...size("t", "b", "h"),
    ],
  },
  dropoutForward: {
    args: [
      f("y", "out", (s) => s.n),
      f("x", "in", (s) => s.n),
      f("mask", "in", (s) => s.n),
      ...size("n"),
    ],
  },
  dropoutBackward: {
    args: [
      f("dx", "inout", (s) => s.n),
      f("mask", "in", (s) => s.n),
      f("dy", "in", (s) => s.n),
      ...size("n"),
    ],
  },
  clipGradNorm: {
    args: [f("grads", "inout", (s) => s.n), ...size("n"), ...num("theta"), stats("inout")],
  },
  sgdUpdate: {
    args: [
      f("params", "inout", (s) => s.n),
      f("grads", "in", (s) => s.n),
      ...size("n"),
      ...num("lr"),
      stats("inout", true),
    ],
  },
  adamUpdate: {
    args: [
      f("params", "inout", (s) => s.n),
      f("grads", "in", (s) => s.n),
      f("m", "inout", (s) => s.n),
      f("v", "inout", (s) => s.n),
      ...size("n"),
      ...num("lr", "beta1", "beta2", "eps", "step"),
      stats("inout", true),
    ],
  },
} as const satisfies Record<string, KernelSpec>;

/** The name of a kernel in {@linkcode KERNELS}. */
export type KernelName = keyof typeof KERNELS;

/** Every kernel name, in table order. */
export const KERNEL_NAMES: readonly KernelName[] = Object.keys(KERNELS) as KernelName[];

/** The buffer kinds a kernel argument can have. */
export type BufKind = "float" | "index" | "scalar" | "packed";

const ACTIVATIONS = ["tanh", "relu"];
const VARIANTS = ["book", "pytorch"];

/**
 * Checks one call's arguments against the table: sizes are non-negative 32-bit integers and
 * named choices are known (`RangeError`); every buffer belongs to the backend (`owns`), is of the
 * right kind and holds at least the elements the sizes imply, a packed weight has the product's
 * shape (`TypeError`). The reference backend runs it before every kernel; the WebAssembly glue
 * makes the same checks by hand, and the table test holds both to it.
 *
 * @param name The kernel.
 * @param args The call's arguments, in table order.
 * @param owns Whether a buffer is one of the backend's, of that kind (it may throw instead).
 * @throws {RangeError} For a bad size or choice.
 * @throws {TypeError} For a buffer that is foreign, of the wrong kind, too short or missing.
 */
export function checkCall(
  name: KernelName,
  args: readonly unknown[],
  owns: (buf: unknown, kind: BufKind) => boolean,
): void {
  const spec: readonly KernelArg[] = KERNELS[name].args;
  const sizes: Record<string, number> = {};
  let variant: unknown;
  spec.forEach((arg, i) => {
    const value = args[i];
    if (arg.type === "size") {
      if (typeof value !== "number" || (value | 0) !== value || value < 0) {
        throw new RangeError(
          `${name}: expected ${arg.name} to be a non-negative 32-bit integer, got ${value}`,
        );
      }
      sizes[arg.name] = value;
    } else if (arg.type === "activation" && !ACTIVATIONS.includes(value as string)) {
      throw new RangeError(`${name}: expected act to be "tanh" or "relu", got ${String(value)}`);
    } else if (arg.type === "variant") {
      if (!VARIANTS.includes(value as string)) {
        throw new RangeError(
          `${name}: expected variant to be "book" or "pytorch", got ${String(value)}`,
        );
      }
      variant = value;
    }
  });
  spec.forEach((arg, i) => {
    if (
      arg.type !== "float" && arg.type !== "index" && arg.type !== "scalar" &&
      arg.type !== "packed"
    ) return;
    const value = args[i];
    const needed = "withVariant" in arg && arg.withVariant !== undefined
      ? variant === arg.withVariant
      : !arg.optional;
    if (value === undefined) {
      if (needed) throw new TypeError(`${name}: ${arg.name} is missing`);
      return;
    }
    if (!owns(value, arg.type)) {
      throw new TypeError(
        `${name}: expected ${arg.name} to be a ${arg.type} buffer of this backend`,
      );
    }
    if (arg.type === "packed") {
      const [k, n] = arg.shape(sizes), p = value as { k: number; n: number };
      if (p.k !== k || p.n !== n) {
        throw new TypeError(
          `${name}: expected ${arg.name} to hold a packed [${k},${n}] weight, got [${p.k},${p.n}]`,
        );
      }
      return;
    }
    const length = arg.length(sizes), got = (value as { length: number }).length;
    if (got < length) {
      throw new TypeError(
        `${name}: expected ${arg.name} to hold at least ${length} elements, got ${got}`,
      );
    }
  });
}

/**
 * The Backend methods that are kernels; the compiler checks below that they are exactly the
 * table's names and take as many arguments as the table lists.
 */
type BackendKernels = Omit<
  Backend,
  | "name"
  | "alloc"
  | "allocIndices"
  | "allocScalars"
  | "allocPacked"
  | "view"
  | "viewIndices"
  | "free"
  | "dispose"
  | "write"
  | "writeIndices"
  | "writeScalars"
  | "fill"
  | "copy"
  | "read"
  | "readIndices"
  | "readScalars"
>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Arity<F> = F extends (...args: infer P) => unknown ? Required<P>["length"] : never;
const _sameNames: Same<keyof BackendKernels, KernelName> = true;
const _sameArity: {
  [K in KernelName]: Same<Arity<BackendKernels[K]>, typeof KERNELS[K]["args"]["length"]>;
} = Object.fromEntries(KERNEL_NAMES.map((k) => [k, true])) as {
  [K in KernelName]: true;
};
void _sameNames, _sameArity;
