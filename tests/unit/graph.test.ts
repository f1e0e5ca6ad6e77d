import { resolve } from 'node:path';
import { flowToMermaid } from '../../engine/flows/graph.ts';
import { parseFlowFile } from '../../engine/flows/loader.ts';

test('a flow as a Mermaid diagram: steps, then routes with their answers and conditions', () => {
  const flow = parseFlowFile(resolve(import.meta.dirname, '../../flows/subscribe.yaml')).file!.toFlow();
  const lines = flowToMermaid(flow).split('\n');
  expect(lines[0]).toBe('flowchart TD');
  expect(lines).toContain('  start((start)) --> s_greet');
  expect(lines).toContain('  s_greet -->|contact.name| s_welcome_back');
  expect(lines).toContain('  s_greet -->|otherwise| s_ask_name');
  expect(lines).toContain('  s_ask_consent -->|yes| s_welcome');
  expect(lines).toContain('  s_ask_consent -->|no| s_goodbye');
  expect(lines).toContain('  s_ask_name --> s_ask_language');
  expect(lines).toContain('  s_welcome["<b>welcome</b><br/>join: supporters<br/>consent: granted<br/>say: subscribe.welcome"]');
});
