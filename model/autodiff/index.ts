export { type Differentiated, type DifferentiateOptions, differentiate } from './differentiate';
export type { GradientContext, GradientRule, InputGradients } from './rule';
export { gradientRules } from './rules';
