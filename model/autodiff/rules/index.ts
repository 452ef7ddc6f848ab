import type { GradientRule } from '../rule';
import { addGradient } from './add';
import { flattenGradient } from './flatten';
import { gemmGradient } from './gemm';
import { identityGradient } from './identity';
import { logSoftmaxGradient } from './log-softmax';
import { matMulGradient } from './matmul';
import { mulGradient } from './mul';
import { reduceMeanGradient } from './reduce-mean';
import { reduceSumGradient } from './reduce-sum';
import { reluGradient } from './relu';
import { reshapeGradient } from './reshape';
import { sigmoidGradient } from './sigmoid';
import { softmaxGradient } from './softmax';
import { softmaxCrossEntropyLossGradient } from './softmax-cross-entropy-loss';
import { subGradient } from './sub';
import { tanhGradient } from './tanh';
import { zeroGradientRules } from './zero-gradient';

/** Every rule autodiff knows, by ONNX op type (default domain). Add a rule file, then list it here. */
export const gradientRules: ReadonlyMap<string, GradientRule> = new Map(
  [
    addGradient,
    flattenGradient,
    gemmGradient,
    identityGradient,
    logSoftmaxGradient,
    matMulGradient,
    mulGradient,
    reduceMeanGradient,
    reduceSumGradient,
    reluGradient,
    reshapeGradient,
    sigmoidGradient,
    softmaxGradient,
    softmaxCrossEntropyLossGradient,
    subGradient,
    tanhGradient,
    ...zeroGradientRules,
  ].map((rule) => [rule.opType, rule]),
);
