// Conditions in flows (`when: [{ if: 'contact.language == "ar"', next: ... }]`), written in
// Jexl: a small expression language that is parsed and interpreted, never eval'd. It
// reads the data it is given and can call only the transforms registered here.
import jexl from 'jexl';

const expressions = new jexl.Jexl();
expressions.addTransform('lower', (value: unknown) => String(value ?? '').toLowerCase());
expressions.addTransform('upper', (value: unknown) => String(value ?? '').toUpperCase());
expressions.addTransform('length', (value: unknown) => (Array.isArray(value) || typeof value === 'string' ? value.length : 0));
expressions.addTransform('includes', (value: unknown, item: unknown) => (Array.isArray(value) || typeof value === 'string' ? value.includes(item as never) : false));

const compiled = new Map<string, ReturnType<typeof expressions.compile>>();

/** Throws with the parser's message when the expression is not valid Jexl. */
export function compileCondition(expression: string) {
  let expr = compiled.get(expression);
  if (!expr) {
    expr = expressions.compile(expression);
    // Compiling is lazy: evaluate once on empty data to surface syntax errors now.
    expr.evalSync({});
    compiled.set(expression, expr);
  }
  return expr;
}

export function evaluateCondition(expression: string, context: Record<string, unknown>): boolean {
  return Boolean(compileCondition(expression).evalSync(context));
}
