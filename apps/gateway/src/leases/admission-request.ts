import type { CheckRequest } from '@paygate/contracts';
import { apiKeyId } from '../auth/api-key';

/** A request the lease pool admits, and what it becomes: the remote Check, its book's key. */
export type AdmissionRequest = Omit<CheckRequest, 'leaseUnits'> & {
  /** The key's apiKeyId when the caller has it already (else computed here). */
  keyId?: string;
  /**
   * The request's own payment was just credited (pay and retry): a refusal of a call that was
   * already under way says nothing about it, so it waits for an answer that came after.
   */
  paid?: boolean;
};

/** The remote Check for a request: what the entitlement service knows, not the key's id. */
export function checkRequest(request: AdmissionRequest, leaseUnits: number): CheckRequest {
  const { apiKey, customerId, feature, cost, requestId, requiredScopes } = request;
  return {
    apiKey,
    ...(customerId ? { customerId } : {}),
    feature,
    cost,
    requestId,
    requiredScopes,
    leaseUnits,
  };
}

// Keys are held hashed (apiKeyId): leases outlive requests, and a memory dump should not leak keys.
export function bookKey(request: AdmissionRequest): string {
  const scopes = [...(request.requiredScopes ?? [])].sort().join(',');
  const keyId = request.keyId ?? apiKeyId(request.apiKey);
  return `${keyId}\0${request.feature}\0${scopes}\0${request.cost > 0 ? 'paid' : 'free'}`;
}
