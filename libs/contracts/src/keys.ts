/**
 * Plan, feature and meter keys: what operators name things by in plans, routes, usage events
 * and gRPC calls. One rule everywhere, so a key accepted by one surface is accepted by all.
 */
export const DOMAIN_KEY = /^[a-z0-9][a-z0-9._-]{0,63}$/;
