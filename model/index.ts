/** The public surface of `model/` for the engine, functions and CLI. */
export * from './autodiff';
export * from './csv';
export * from './datasets';
export * from './errors';
export * from './export';
export * from './graph';
export * from './onnx-import';
export * from './params';
export * from './random';
export * from './session';
export * from './train-graph';
export * from './zoo';
