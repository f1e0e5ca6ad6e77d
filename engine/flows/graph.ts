// `tocsin flows graph FLOW`: a flow as a Mermaid diagram (paste it into any Markdown
// viewer that draws Mermaid, or mermaid.live).
import type { Flow, Step, Text } from '../types.ts';

export function flowToMermaid(flow: Flow): string {
  const lines = ['flowchart TD'];
  const id = (name: string) => `s_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  for (const [name, step] of Object.entries(flow.steps)) {
    lines.push(`  ${id(name)}["${label(name, step)}"]`);
  }
  lines.push(`  start((start)) --> ${id(flow.entry)}`);
  for (const [name, step] of Object.entries(flow.steps)) {
    const from = id(name);
    for (const [answer, target] of Object.entries((step.branch ?? {}) as Record<string, string>)) lines.push(`  ${from} -->|${escape(answer)}| ${id(target)}`);
    for (const entry of (step.when ?? []) as { if?: string; next: string }[]) lines.push(`  ${from} -->|${escape(entry.if ?? 'otherwise')}| ${id(entry.next)}`);
    if (typeof step.next === 'string') lines.push(`  ${from} --> ${id(step.next)}`);
    for (const action of (step.do ?? []) as Record<string, unknown>[]) {
      if (typeof action.goto === 'string') lines.push(`  ${from} -.->|goto| flow_${id(action.goto)}[["${escape(action.goto)}"]]`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function label(name: string, step: Step): string {
  // In the order they run: actions, then the text, then the question.
  const parts = [`<b>${escape(name)}</b>`];
  for (const action of (step.do ?? []) as Record<string, unknown>[]) {
    for (const [key, value] of Object.entries(action)) parts.push(`${escape(key)}: ${escape(typeof value === 'string' ? value : JSON.stringify(value))}`);
  }
  if (step.say !== undefined) parts.push(`say: ${escape(textName(step.say as Text))}`);
  const ask = step.ask as { type?: string } | undefined;
  if (ask?.type) parts.push(`ask: ${escape(ask.type)}`);
  return parts.join('<br/>');
}

const textName = (text: Text) => (typeof text === 'string' ? text : (Object.values(text)[0] ?? '').slice(0, 40));
const escape = (text: string) => text.replace(/["<>|]/g, (char) => `#${char.charCodeAt(0)};`);
