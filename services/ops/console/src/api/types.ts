// The API types the console uses. Hand-written (contract.ts) until the generated ones exist.
export type * from "./contract";
