import type { Report } from '../../protocol/messages.ts';
import { verifyMessage } from '../../protocol/signing.ts';
import { storable } from '../../protocol/storable.ts';
import { checkAck } from '../../protocol/validate.ts';
import type { PushOutcome } from './push-message.ts';

// A host answers a repeat of an attempt it already has with `known` and its report so far. That report
// counts like one sent to /api/reports, so it must pass the same checks: the answer signed with the host's
// secret (its id the attempt's), the ack's schema, and a report about this attempt of this host. Anything
// else is no report at all (the host's own reports still come).

export function reportInAnswer(
  outcome: Extract<PushOutcome, { kind: 'delivered' }>,
  secrets: readonly string[],
  expected: { hostId: string; attemptId: string },
): { repeat: boolean; report?: Report } {
  const checked = checkAck(safeJson(outcome.body));
  if (!checked.ok || checked.value.status !== 'known') return { repeat: false };
  const report = checked.value.report;
  if (!report || report.hostId !== expected.hostId || report.attemptId !== expected.attemptId) return { repeat: true };
  const verified = verifyMessage(outcome.body, outcome.headers, secrets);
  if (!verified.ok || verified.messageId !== expected.attemptId) return { repeat: true };
  return { repeat: true, report: storable(report) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
