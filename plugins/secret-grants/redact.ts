/**
 * Defence in depth for messages built from third-party errors (an upstream's
 * connection error may quote a URL carrying an injected query parameter):
 * every occurrence of the value is replaced before the text goes anywhere.
 */
export function redact(text: string, value: Buffer | null): string {
  if (!value || value.length === 0) return text;
  const forms = new Set([value.toString('utf8'), encodeURIComponent(value.toString('utf8')), value.toString('base64')]);
  let out = text;
  for (const f of forms) if (f) out = out.split(f).join('[redacted]');
  return out;
}
