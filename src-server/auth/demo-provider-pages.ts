import { escapeHtml, htmlPage } from './html-page';

/** The demo provider's two pages (demo-provider.ts): plain forms, so that a person and a test script use them alike. */

function layout(title: string, body: string): string {
  return htmlPage(title, `<p><small>Fournisseur d'identité de démonstration de Liaison (pas Pro Santé Connect)</small></p>${body}`);
}

const refuseForm = (uid: string) => `<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Refuser</button></form>`;

export function loginPage(uid: string, error?: string): string {
  return layout(
    'Connexion',
    `${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label>Identifiant <input name="login" required autofocus></label>
<label>Mot de passe <input name="password" type="password" required></label>
<button type="submit">Se connecter</button>
</form>${refuseForm(uid)}`,
  );
}

export function consentPage(uid: string, clientId: string): string {
  return layout(
    'Autorisation',
    `<p>${escapeHtml(clientId)} demande votre identité, votre nom, votre adresse e-mail et votre identifiant national (IDNPS).</p>
<form method="post" action="/interaction/${escapeHtml(uid)}/consent"><button type="submit">Autoriser</button></form>${refuseForm(uid)}`,
  );
}
