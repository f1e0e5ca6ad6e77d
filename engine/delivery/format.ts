// Fitting a message to a channel: numbered choices where there are no buttons, and
// long texts split at paragraph (then line, then word) boundaries.
import type { ChannelCapabilities, OutboundMessage } from '../types.ts';

/** `1) Yes  2) No`: how choices look on channels without buttons. */
export function choicesAsText(message: OutboundMessage): string {
  const list = (message.choices ?? []).map((choice, index) => `${index + 1}) ${choice.label}`).join('  ');
  return [message.text, list].filter(Boolean).join('\n');
}

export function fitToChannel(message: OutboundMessage, capabilities: ChannelCapabilities): OutboundMessage[] {
  if (message.data !== undefined) return [message];
  const text = capabilities.buttons ? message.text : choicesAsText(message);
  const choices = capabilities.buttons ? message.choices : undefined;
  const parts = splitText(text, capabilities.maxTextLength);
  // Buttons go with the last part, under the question.
  return parts.map((part, index) => ({ text: part, language: message.language, ...(index === parts.length - 1 && choices ? { choices } : {}) }));
}

export function splitText(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    const cut = lastBreak(window, '\n\n') ?? lastBreak(window, '\n') ?? lastBreak(window, ' ') ?? max;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}

function lastBreak(window: string, separator: string): number | undefined {
  const at = window.lastIndexOf(separator);
  // A break in the first half would make tiny parts: cut harder instead.
  return at > window.length / 2 ? at + separator.length : undefined;
}
