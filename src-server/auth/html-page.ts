/** The few HTML pages of a login (the desktop login's loopback answer, the demo provider's forms). */

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** A page with a title and a body already in HTML (escape what it quotes). */
export function htmlPage(title: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}label,input,button{display:block;margin:.5rem 0}input[type=radio]{display:inline;margin:0 .5rem 0 0}fieldset{margin:1rem 0}</style>
</head><body><h1>${escapeHtml(title)}</h1>${bodyHtml}</body></html>`;
}
