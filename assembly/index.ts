// Entry point of the kernel module: re-exports every kernel and its scalar twin. The argument
// order of each export is that of the Backend method of the same name (src/backend/types.ts).
export function heapBase(): usize {
  return __heap_base;
}

export {
  matmulNN,
  matmulNNNaive,
  matmulNT,
  matmulNTNaive,
  matmulPacked,
  matmulPackedNaive,
  matmulStrided,
  matmulTN,
  matmulTNNaive,
  packedSize,
  packedSizeNaive,
  packWeights,
  packWeightsNaive,
  scratchBytes,
  useScratch,
} from "./matmul";
export { matmulInt8, matmulInt8Naive, packInt8, packInt8Naive } from "./int8";
export { biasBackward, biasBackwardNaive, biasForward, biasForwardNaive } from "./bias";
export {
  dropoutBackward,
  dropoutBackwardNaive,
  dropoutForward,
  dropoutForwardNaive,
} from "./dropout";
export {
  reluBackward,
  reluBackwardNaive,
  reluForward,
  reluForwardNaive,
  sigmoidBackward,
  sigmoidBackwardNaive,
  sigmoidForward,
  sigmoidForwardNaive,
  tanhBackward,
  tanhBackwardNaive,
  tanhForward,
  tanhForwardNaive,
} from "./activations";
export {
  gatherRowsBackward,
  gatherRowsBackwardNaive,
  gatherRowsForward,
  gatherRowsForwardNaive,
} from "./gather";
export {
  softmaxXentBackward,
  softmaxXentBackwardNaive,
  softmaxXentForward,
  softmaxXentForwardNaive,
  softmaxXentRows,
} from "./softmax_xent";
export {
  rnnBackward,
  rnnBackwardNaive,
  rnnBackwardSteps,
  rnnForward,
  rnnForwardNaive,
  rnnForwardRows,
} from "./rnn_cell";
export {
  gruBackward,
  gruBackwardNaive,
  gruForward,
  gruForwardNaive,
  gruForwardRows,
} from "./gru_cell";
export {
  lstmBackward,
  lstmBackwardNaive,
  lstmBackwardSteps,
  lstmForward,
  lstmForwardNaive,
  lstmForwardRows,
} from "./lstm_cell";
export { clipGradNorm, clipGradNormNaive } from "./clip";
export { adamUpdate, adamUpdateNaive, sgdUpdate, sgdUpdateNaive } from "./optim";
export { argmaxRows, argmaxRowsNaive } from "./argmax";
