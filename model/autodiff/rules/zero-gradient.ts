import type { GradientRule } from '../rule';

/**
 * Ops whose outputs are integers, booleans or piecewise constant: no gradient flows through
 * them, so e.g. Reshape(x, Concat(Gather(Shape(x)), ...)) in an exported model does not make
 * Shape look like an op that needs a rule.
 */
const ZERO_GRADIENT_OPS = [
  'ArgMax',
  'ArgMin',
  'And',
  'Ceil',
  'Equal',
  'Floor',
  'Greater',
  'GreaterOrEqual',
  'IsInf',
  'IsNaN',
  'Less',
  'LessOrEqual',
  'NonZero',
  'Not',
  'Or',
  'Round',
  'Shape',
  'Sign',
  'Size',
  'Xor',
] as const;

export const zeroGradientRules: readonly GradientRule[] = ZERO_GRADIENT_OPS.map((opType) => ({
  opType,
  differentiableInputs: [],
  gradients: () => [],
}));
