import { shallowRef } from 'vue';
import { createRouter, createWebHashHistory, type RouteLocationNormalized, type RouteRecordRaw, type Router } from 'vue-router';
import DirectoryPage from './pages/DirectoryPage.vue';
import LoginPage from './pages/LoginPage.vue';
import { useSessionStore } from './stores/session';

/**
 * Screens by address. Hash history: the same addresses work from the node (`/`, which serves only the files) and
 * from `app://liaison/` in the desktop app. The directory is the first screen and is in the main bundle; the heavier
 * screens (calendar, PDF viewer) and the first-run set-up are chunks of their own, all fetched right after start
 * (`loadAllScreens`): the node serves these files, and a screen first opened while it is away must still open. A
 * chunk that could not be fetched is asked again when its screen is opened; if that fails too, the screen says so
 * with a retry (`failedScreen`) instead of doing nothing.
 */

const screenLoads: Array<() => Promise<unknown>> = [];

/** A screen's code, fetched once; a failed fetch is forgotten, so the next opening tries again. */
export function screen<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  const get = () =>
    (loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    }));
  screenLoads.push(get);
  return get;
}

/** Fetches the code of every screen (and of the PDF viewer), now while the node is surely there. Never rejects. */
export async function loadAllScreens(): Promise<void> {
  await Promise.allSettled([...screenLoads.map((load) => load()), import('./components/PdfViewer.vue')]);
}

/** The screen whose code could not be fetched when opened, and why; cleared by the next navigation that succeeds. */
export const failedScreen = shallowRef<{ to: RouteLocationNormalized; error: unknown }>();

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/directory' },
  { path: '/login', name: 'login', component: LoginPage, meta: { public: true } },
  { path: '/setup', name: 'setup', component: screen(() => import('./pages/SetupPage.vue')), meta: { public: true } },
  { path: '/directory', name: 'directory', component: DirectoryPage },
  { path: '/patients', name: 'patients', component: screen(() => import('./pages/PatientsPage.vue')) },
  { path: '/patients/:id', name: 'patient', component: screen(() => import('./pages/PatientPage.vue')), props: true },
  { path: '/documents', name: 'documents', component: screen(() => import('./pages/DocumentsPage.vue')) },
  { path: '/appointments', name: 'appointments', component: screen(() => import('./pages/AppointmentsPage.vue')) },
  { path: '/settings', name: 'settings', component: screen(() => import('./pages/SettingsPage.vue')) },
  { path: '/:unknown(.*)', redirect: '/directory' },
];

/** Screens in the order of the navigation bar (Alt+1…Alt+5). */
export const NAV_ROUTES = ['directory', 'patients', 'documents', 'appointments', 'settings'] as const;

/** Keeps a screen whose code did not load as `failedScreen`, until a navigation succeeds. */
export function watchScreenLoads(router: Router): void {
  router.onError((error, to) => (failedScreen.value = { to, error }));
  router.afterEach((_to, _from, failure) => {
    if (!failure) failedScreen.value = undefined;
  });
}

export function createAppRouter(): Router {
  const router = createRouter({ history: createWebHashHistory(), routes });
  router.beforeEach((to) => {
    const session = useSessionStore();
    // A data folder with no user yet: the set-up first (its code comes with the address); afterwards, never again.
    const awaitingSetup = session.loginScreen?.setup === true;
    if (awaitingSetup && to.name !== 'setup') return { name: 'setup', query: typeof to.query.code === 'string' ? { code: to.query.code } : {} };
    if (!awaitingSetup && to.name === 'setup') return { name: 'login' };
    if (to.meta.public) return session.state === 'in' && to.name === 'login' ? { path: typeof to.query.next === 'string' ? to.query.next : '/directory' } : true;
    if (session.state !== 'in') return { name: 'login', query: to.fullPath !== '/directory' ? { next: to.fullPath } : {} };
    return true;
  });
  watchScreenLoads(router);
  return router;
}
