/**
 * The memory of one WebAssembly backend: blocks carved from its linear memory above the module's
 * own data, aligned to a cache line, the memory grown by half again when it runs out, and freed
 * blocks handed out again (zeroed) to the next request of the same size. The typed views over the
 * memory are rebuilt when it grows (growing detaches the old ArrayBuffer and every view on it).
 *
 * @module
 */

/** Blocks start on 64-byte boundaries (a cache line); memory grows in 64 KiB pages. */
const ALIGN = 64;
const PAGE = 65536;

/** Blocks of one linear memory (see the module doc). */
export class Arena {
  /** The memory as bytes. */
  u8: Uint8Array;
  /** The memory as float32. */
  f32: Float32Array;
  /** The memory as int32. */
  i32: Int32Array;
  /** The memory as float64. */
  f64: Float64Array;
  readonly #memory: WebAssembly.Memory;
  #top: number;
  /** Freed blocks by their size in bytes. */
  readonly #freed = new Map<number, number[]>();

  /**
   * An arena over `memory` above `base` (the module's `__heap_base`).
   *
   * @param memory The linear memory.
   * @param base The first byte the module does not use.
   */
  constructor(memory: WebAssembly.Memory, base: number) {
    this.#memory = memory;
    this.#top = Math.ceil(base / ALIGN) * ALIGN;
    this.u8 = new Uint8Array(memory.buffer);
    this.f32 = new Float32Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
  }

  /**
   * A zeroed block of at least `bytes` bytes.
   *
   * @returns Its byte offset and its size (what `free` takes back).
   */
  alloc(bytes: number): [number, number] {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const reused = this.#freed.get(size)?.pop();
    if (reused !== undefined) {
      this.u8.fill(0, reused, reused + size);
      return [reused, size];
    }
    const memory = this.#memory, ptr = this.#top, end = ptr + size;
    if (end > memory.buffer.byteLength) {
      // Grow by at least half again, so a run of small allocations grows memory rarely.
      const need = Math.ceil((end - memory.buffer.byteLength) / PAGE);
      const pages = Math.max(need, Math.ceil(memory.buffer.byteLength / PAGE / 2));
      try {
        memory.grow(pages);
      } catch {
        memory.grow(need);
      }
      this.u8 = new Uint8Array(memory.buffer);
      this.f32 = new Float32Array(memory.buffer);
      this.i32 = new Int32Array(memory.buffer);
      this.f64 = new Float64Array(memory.buffer);
    }
    this.#top = end;
    return [ptr, size];
  }

  /**
   * Takes a block back for later requests of the same size.
   *
   * @param ptr Its byte offset.
   * @param size Its size, as `alloc` returned it.
   */
  free(ptr: number, size: number): void {
    let list = this.#freed.get(size);
    if (!list) this.#freed.set(size, list = []);
    list.push(ptr);
  }

  /** Forgets every freed block (the backend is being disposed). */
  clear(): void {
    this.#freed.clear();
  }
}
