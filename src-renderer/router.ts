import { createRouter, createWebHashHistory, type RouteRecordRaw, type Router } from 'vue-router';
import DirectoryPage from './pages/DirectoryPage.vue';
import LoginPage from './pages/LoginPage.vue';
import { useSessionStore } from './stores/session';

/**
 * Screens by address. Hash history: the same addresses work from the node (`/`, which serves only the files) and
 * from `app://liaison/` in the desktop app. The directory is the first screen and is in the main bundle; the heavier
 * screens (calendar, PDF viewer) and the first-run set-up load when first opened.
 */

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/directory' },
  { path: '/login', name: 'login', component: LoginPage, meta: { public: true } },
  { path: '/setup', name: 'setup', component: () => import('./pages/SetupPage.vue'), meta: { public: true } },
  { path: '/directory', name: 'directory', component: DirectoryPage },
  { path: '/patients', name: 'patients', component: () => import('./pages/PatientsPage.vue') },
  { path: '/patients/:id', name: 'patient', component: () => import('./pages/PatientPage.vue'), props: true },
  { path: '/documents', name: 'documents', component: () => import('./pages/DocumentsPage.vue') },
  { path: '/appointments', name: 'appointments', component: () => import('./pages/AppointmentsPage.vue') },
  { path: '/settings', name: 'settings', component: () => import('./pages/SettingsPage.vue') },
  { path: '/:unknown(.*)', redirect: '/directory' },
];

/** Screens in the order of the navigation bar (Alt+1…Alt+5). */
export const NAV_ROUTES = ['directory', 'patients', 'documents', 'appointments', 'settings'] as const;

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
  return router;
}
