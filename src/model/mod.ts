/**
 * Models: where the parameters live and what they are called (`params.ts`), the model object that
 * owns its buffers, workspaces and prepared weights (`model.ts`), a pass's activations
 * (`workspace.ts`), the forward pass (`forward.ts`) and backpropagation through time
 * (`backward.ts`), and layer objects like PyTorch's `nn.RNN` (`layers.ts`).
 *
 * @module
 */
export * from "./params.ts";
export * from "./model.ts";
export * from "./workspace.ts";
export * from "./forward.ts";
export * from "./backward.ts";
export * from "./layers.ts";
