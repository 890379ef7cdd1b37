import { totalAmount } from './amount';
import type { PayableAsset, PaymentRequirement } from './types';

export type OfferMatch =
  | { offer: PayableAsset }
  | { reason: 'wrong-network' | 'wrong-asset' | 'wrong-recipient' | 'underpaid' };

/**
 * The offer of a requirement that a payment answers, or why none does: the checks every
 * facilitator makes first, against the server's own terms (not the client's echo of them),
 * so a payment for another network, asset or recipient, or for less, is refused without a
 * round trip.
 */
export function matchOffer(
  requirement: PaymentRequirement,
  paid: { onNetwork: (network: string) => boolean; asset: string; payTo: string; amount: string },
): OfferMatch {
  const offers = requirement.assets.filter((asset) => paid.onNetwork(asset.network));
  if (offers.length === 0) return { reason: 'wrong-network' };
  const sameAsset = offers.filter((asset) => asset.asset === paid.asset);
  if (sameAsset.length === 0) return { reason: 'wrong-asset' };
  const offer = sameAsset.find((asset) => asset.payTo === paid.payTo);
  if (!offer) return { reason: 'wrong-recipient' };
  if (
    BigInt(paid.amount) < totalAmount(requirement.units, offer.amountPerUnit, offer.amountPerCall)
  )
    return { reason: 'underpaid' };
  return { offer };
}
