import { PaymentRequiredError, ProblemError, createPaygateClient } from '../../libs/client/src';

/**
 * The demo single-page app: calls the API through the gateway with the client library and,
 * on a payment problem, shows the message and a button to the billing page.
 */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const keyInput = $<HTMLInputElement>('key');
keyInput.value =
  new URLSearchParams(location.search).get('key') ?? localStorage.getItem('key') ?? '';

function showProblem(title: string, detail: string, link?: string): void {
  $('problem-title').textContent = title;
  $('problem-detail').textContent = detail;
  const fix = $<HTMLAnchorElement>('fix');
  fix.hidden = !link;
  if (link) fix.href = link;
  $('problem').hidden = false;
}

/** One call to the demo API; every failure ends in the problem panel, so nothing rejects. */
async function callDemo(): Promise<void> {
  localStorage.setItem('key', keyInput.value);
  $('problem').hidden = true;
  $('result').hidden = true;
  const api = createPaygateClient({
    apiKey: keyInput.value,
    onPaymentRequired: (e: PaymentRequiredError) =>
      showProblem(e.title ?? 'Payment required', e.detail ?? '', e.link),
  });
  try {
    const body = await api.json('/demo/hello');
    $('result').textContent = JSON.stringify(body, null, 2);
    $('result').hidden = false;
  } catch (e) {
    if (e instanceof PaymentRequiredError) return; // the hook showed it
    const problem = e instanceof ProblemError ? e : undefined;
    showProblem(
      problem?.title ?? 'Request failed',
      `${problem?.detail ?? String(e)}${problem?.requestId ? ` (request ${problem.requestId})` : ''}`,
    );
  }
}

$('call').addEventListener('click', () => void callDemo());
