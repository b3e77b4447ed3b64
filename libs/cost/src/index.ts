export * from './request';
export * from './pricing/price-table';
export * from './pricing/price-for';
export * from './usage/usage-record';
export * from './tokens/estimate-tokens';
