/** The block `npm start` prints once everything is up: where to look and what to paste. */
export interface ReadyBannerInput {
  temporalUiUrl: string;
  paymentsUrl: string;
  /** How to call the Temporal CLI: `temporal`, or its absolute path when it is not on the PATH. */
  temporalCommand: string;
  /** Extra CLI flags when the server is not the CLI's default (address, namespace). */
  temporalFlags: string[];
  logDir: string;
}

export function readyBanner(input: ReadyBannerInput): string {
  const temporal = [input.temporalCommand, ...input.temporalFlags].join(' ');
  const rule = '='.repeat(72);
  return [
    rule,
    ' Orders service is ready.',
    '',
    ` Temporal Web UI   ${input.temporalUiUrl}`,
    ` Payments HTTP     ${input.paymentsUrl}`,
    '',
    ' Create an order (2 of product 1; prints its id), pay it offline, see its timeline:',
    '   npm run orders -- create 1x2',
    '   npm run orders -- pay <orderId>',
    '   npm run orders -- show <orderId>',
    ' Inspect it with the Temporal CLI:',
    `   ${temporal} workflow query --workflow-id order-<orderId> --name getOrder`,
    `   ${temporal} workflow list --query 'OrderStatus="PAID"'`,
    '',
    ` Service logs: ${input.logDir}    Stop everything started here: Ctrl-C`,
    rule,
  ].join('\n');
}
