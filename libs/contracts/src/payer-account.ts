/**
 * A payer's account id (CAIP-10): "<network>:<address>", the customer an anonymous payer
 * becomes (docs/payments.md). EVM addresses are case-insensitive (the checksum is only a
 * spelling), so they are lowercased: one payer, one account. The gateway and the entitlement
 * service must spell it alike, hence here.
 */
export function payerAccountOf(network: string, payer: string): string {
  return `${network}:${network.startsWith('eip155:') ? payer.toLowerCase() : payer}`;
}
