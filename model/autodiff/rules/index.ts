import type { GradientRule } from '../rule';
import { addGradient } from './add';
import { averagePoolGradient } from './average-pool';
import { batchNormalizationGradient } from './batch-normalization';
import { castGradient } from './cast';
import { concatGradient } from './concat';
import { convGradient } from './conv';
import { divGradient } from './div';
import { dropoutGradient } from './dropout';
import { expGradient } from './exp';
import { expandGradient } from './expand';
import { flattenGradient } from './flatten';
import { gatherGradient } from './gather';
import { gemmGradient } from './gemm';
import { globalAveragePoolGradient } from './global-average-pool';
import { identityGradient } from './identity';
import { leakyReluGradient } from './leaky-relu';
import { logGradient } from './log';
import { logSoftmaxGradient } from './log-softmax';
import { matMulGradient } from './matmul';
import { maxPoolGradient } from './max-pool';
import { mulGradient } from './mul';
import { negGradient } from './neg';
import { negativeLogLikelihoodLossGradient } from './negative-log-likelihood-loss';
import { powGradient } from './pow';
import { reduceMeanGradient } from './reduce-mean';
import { reduceSumGradient } from './reduce-sum';
import { reluGradient } from './relu';
import { reshapeGradient } from './reshape';
import { sigmoidGradient } from './sigmoid';
import { sliceGradient } from './slice';
import { softmaxGradient } from './softmax';
import { softmaxCrossEntropyLossGradient } from './softmax-cross-entropy-loss';
import { sqrtGradient } from './sqrt';
import { squeezeGradient } from './squeeze';
import { subGradient } from './sub';
import { tanhGradient } from './tanh';
import { transposeGradient } from './transpose';
import { unsqueezeGradient } from './unsqueeze';
import { zeroGradientRules } from './zero-gradient';

/** Every rule autodiff knows, by ONNX op type (default domain). Add a rule file, then list it here. */
export const gradientRules: ReadonlyMap<string, GradientRule> = new Map(
  [
    addGradient,
    averagePoolGradient,
    batchNormalizationGradient,
    castGradient,
    concatGradient,
    convGradient,
    divGradient,
    dropoutGradient,
    expGradient,
    expandGradient,
    flattenGradient,
    gatherGradient,
    gemmGradient,
    globalAveragePoolGradient,
    identityGradient,
    leakyReluGradient,
    logGradient,
    logSoftmaxGradient,
    matMulGradient,
    maxPoolGradient,
    mulGradient,
    negGradient,
    negativeLogLikelihoodLossGradient,
    powGradient,
    reduceMeanGradient,
    reduceSumGradient,
    reluGradient,
    reshapeGradient,
    sigmoidGradient,
    sliceGradient,
    softmaxGradient,
    softmaxCrossEntropyLossGradient,
    sqrtGradient,
    squeezeGradient,
    subGradient,
    tanhGradient,
    transposeGradient,
    unsqueezeGradient,
    ...zeroGradientRules,
  ].map((rule) => [rule.opType, rule]),
);
