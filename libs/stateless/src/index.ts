export * from './answer-invoke';
