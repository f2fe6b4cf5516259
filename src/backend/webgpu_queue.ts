/**
 * The WebGPU backend's plumbing: its buffers (roots) and the queue its kernels are recorded into.
 * Dispatches go into one compute pass, each with its parameter words in a slot of a uniform ring
 * (bound with a dynamic offset) and a bind group cached by its buffers; the pass is submitted when
 * the host needs the device (`flush`): before a write, a read, a free, or when the ring is full.
 * Pipelines are compiled once per device and shared by every backend on it.
 *
 * @module
 */
import type { AnyBuf } from "./types.ts";
import { mergedBindings, type ShaderName, SHADERS } from "./webgpu_shaders.ts";

/** Words of one dispatch's parameters, and the bytes its slot takes in the uniform ring. */
export const WORDS = 32, SLOT = 256, RING = 2048;
/** Slot 31 of the parameters: an elementwise shader's invocation count. */
export const COUNT = 31;

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
/** The bits of `x` as a float32, for a parameter word. */
export function F(x: number): number {
  f32[0] = x;
  return u32[0];
}

/** The storage behind a handle: one GPU buffer, and an id for the bind-group cache. */
export interface Root {
  readonly buffer: GPUBuffer;
  readonly id: number;
  freed: boolean;
}

/** A handle: a root and the element range of it this handle covers. */
export class GpuBuf {
  constructor(
    readonly kind: AnyBuf["kind"],
    readonly root: Root,
    readonly offset: number,
    readonly length: number,
    readonly isView: boolean,
    readonly owner: object,
    readonly k = 0,
    readonly n = 0,
  ) {}
}

/** Each device's compiled pipelines (compiling is what costs, on a software adapter most). */
const PIPELINES = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** Where kernels are recorded and buffers made, for one backend on one device. */
export interface GpuQueue {
  /** A new zeroed buffer of `elements` float32 or int32 elements. */
  newRoot(elements: number): Root;
  /** Destroys a root once the work recorded before has been submitted. */
  release(root: Root): void;
  /** Records one dispatch of `name` over `groups` workgroups with these buffers and words. */
  dispatch(
    name: ShaderName,
    buffers: Root[],
    params: readonly number[],
    groups: [number, number],
  ): void;
  /** An elementwise dispatch of `n` invocations (the count goes to word 31). */
  each(name: ShaderName, buffers: Root[], params: number[], n: number): void;
  /** A buffer of the backend's own under `key`, of `elements` at least (grown as needed). */
  room(key: string, elements: number): Root;
  /** Submits what is recorded. */
  flush(): void;
  /** Writes host values at a byte offset, after the work recorded before. */
  upload(
    root: Root,
    byteOffset: number,
    data: Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer>,
  ): void;
  /** `bytes` bytes from a byte offset, once the work recorded before has run. */
  download(root: Root, byteOffset: number, bytes: number): Promise<ArrayBuffer>;
  /** Destroys every buffer (after submitting what is recorded, when the device still takes work). */
  destroy(): void;
}

/**
 * A queue on `device`.
 *
 * @param device The device.
 * @returns The queue.
 */
export function createGpuQueue(device: GPUDevice): GpuQueue {
  const roots = new Set<Root>();
  let nextId = 1;
  const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const newRoot = (elements: number): Root => {
    // Bindings need a few bytes at least; sizes are kept to whole 16-byte words.
    const size = Math.max(16, Math.ceil((elements * 4) / 16) * 16);
    const root = {
      buffer: device.createBuffer({ size, usage: USAGE }),
      id: nextId++,
      freed: false,
    };
    roots.add(root);
    return root;
  };

  // Pipelines, made on first use and shared by every backend on the device; bind groups.
  let pipelines = PIPELINES.get(device);
  if (!pipelines) PIPELINES.set(device, pipelines = new Map());
  /**
   * The pipeline of `name` for arguments bound as `first` says (each argument's first argument
   * on the same buffer; the identity when every buffer differs).
   */
  const pipeline = (name: ShaderName, first: readonly number[]): GPUComputePipeline => {
    const merged = first.some((f, i) => f !== i);
    const key = merged ? `${name}|${first.join(",")}` : name;
    let p = pipelines!.get(key);
    if (p) return p;
    const spec = SHADERS[name];
    const code = merged ? mergedBindings(spec, first) : spec.code;
    const layout = device.createBindGroupLayout({
      entries: [
        {
          binding: 0,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: WORDS * 4 },
        },
        ...Array.from({ length: new Set(first).size }, (_, i) => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: "storage" as const },
        })),
      ],
    });
    p = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
    });
    pipelines!.set(key, p);
    return p;
  };
  const bindGroups = new Map<string, GPUBindGroup>();
  const ring = device.createBuffer({
    size: RING * SLOT,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const words = new Uint32Array((RING * SLOT) / 4);
  let slot = 0;
  let encoder: GPUCommandEncoder | undefined, pass: GPUComputePassEncoder | undefined;

  /** Submits what is recorded (the ring's parameters first, in queue order). */
  const flush = () => {
    if (!encoder) return;
    pass!.end();
    device.queue.writeBuffer(ring, 0, words, 0, (slot * SLOT) / 4);
    device.queue.submit([encoder.finish()]);
    encoder = pass = undefined;
    slot = 0;
  };

  const dispatch = (
    name: ShaderName,
    buffers: Root[],
    params: readonly number[],
    groups: [number, number],
  ) => {
    if (groups[0] === 0 || groups[1] === 0) return;
    if (slot === RING) flush();
    words.fill(0, slot * (SLOT / 4), slot * (SLOT / 4) + WORDS);
    words.set(params, slot * (SLOT / 4));
    // A buffer that two arguments share is bound once (see mergedBindings).
    const first = buffers.map((b) => buffers.indexOf(b));
    const distinct = buffers.filter((_, i) => first[i] === i);
    const p = pipeline(name, first);
    const key = `${name}:${buffers.map((b) => b.id).join(",")}`;
    let group = bindGroups.get(key);
    if (!group) {
      group = device.createBindGroup({
        layout: p.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: ring, size: WORDS * 4 } },
          ...distinct.map((b, i) => ({ binding: i + 1, resource: { buffer: b.buffer } })),
        ],
      });
      bindGroups.set(key, group);
    }
    if (!encoder) {
      encoder = device.createCommandEncoder();
      pass = encoder.beginComputePass();
    }
    pass!.setPipeline(p);
    pass!.setBindGroup(0, group, [slot * SLOT]);
    pass!.dispatchWorkgroups(groups[0], groups[1]);
    slot++;
  };
  const each = (name: ShaderName, buffers: Root[], params: number[], n: number) => {
    const p = params.slice();
    p[COUNT] = n;
    dispatch(name, buffers, p, grid(Math.ceil(n / 256)));
  };

  // Buffers of the backend's own, grown when a call needs more.
  const scratch = new Map<string, Root>();
  const room = (key: string, elements: number): Root => {
    const held = scratch.get(key);
    if (held && held.buffer.size >= elements * 4) return held;
    if (held) {
      flush();
      held.buffer.destroy();
      roots.delete(held);
      bindGroups.clear();
    }
    const root = newRoot(Math.max(elements, 64));
    scratch.set(key, root);
    return root;
  };

  return {
    newRoot,
    release(root) {
      flush();
      root.freed = true;
      root.buffer.destroy();
      roots.delete(root);
      bindGroups.clear();
    },
    dispatch,
    each,
    room,
    flush,
    upload(root, byteOffset, data) {
      if (data.length === 0) return;
      flush();
      device.queue.writeBuffer(root.buffer, byteOffset, data);
    },
    async download(root, byteOffset, bytes) {
      flush();
      if (bytes === 0) return new ArrayBuffer(0);
      const staging = device.createBuffer({
        size: Math.ceil(bytes / 4) * 4,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const copy = device.createCommandEncoder();
      copy.copyBufferToBuffer(root.buffer, byteOffset, staging, 0, bytes);
      device.queue.submit([copy.finish()]);
      try {
        await staging.mapAsync(GPUMapMode.READ);
        return staging.getMappedRange().slice(0);
      } finally {
        if (staging.mapState === "mapped") staging.unmap();
        staging.destroy();
      }
    },
    destroy() {
      try {
        flush();
      } catch {
        // A lost device takes no more work; its buffers are released below all the same.
      }
      for (const root of [...roots, ...scratch.values()]) root.buffer.destroy();
      ring.destroy();
      roots.clear();
      bindGroups.clear();
    },
  };
}

/** Workgroups for `n` groups in two dimensions (at most 65535 in each). */
export function grid(n: number): [number, number] {
  if (n <= 65535) return [n, n === 0 ? 0 : 1];
  const x = 65535;
  return [x, Math.ceil(n / x)];
}
