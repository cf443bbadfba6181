import { createI18n } from 'vue-i18n';
import type { Locale } from '../format';
import en from './en';
import fr, { type Messages } from './fr';

const LOCALE_KEY = 'liaison.locale';

/** French first; English when the user chose it (kept on this computer). */
export function createAppI18n(locale: Locale = (localStorage.getItem(LOCALE_KEY) as Locale | null) ?? 'fr') {
  return createI18n<[Messages], Locale, false>({
    legacy: false,
    locale,
    fallbackLocale: 'fr',
    messages: { fr, en },
  });
}

export function rememberLocale(locale: Locale): void {
  localStorage.setItem(LOCALE_KEY, locale);
  document.documentElement.lang = locale;
}
