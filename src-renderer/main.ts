import { createPinia } from 'pinia';
import { createApp, watch } from 'vue';
import App from './App.vue';
import { createAppI18n } from './i18n';
import { createAppRouter, loadAllScreens } from './router';
import { useConnectionStore } from './stores/connection';
import { useSessionStore } from './stores/session';
import './styles.css';

async function start(): Promise<void> {
  const app = createApp(App);
  const pinia = createPinia();
  app.use(pinia);
  app.use(createAppI18n());
  // The session first (a login coming back from the provider, or the tab's session): the router's guard needs it.
  const session = useSessionStore();
  await session.restore();
  const router = createAppRouter();
  app.use(router);
  // A session that ends while working (expired, logged out elsewhere) goes back to the login screen.
  watch(
    () => session.state,
    // A refused navigation resolves (a NavigationFailure); a screen whose code did not load rejects, and the app shows
    // it with a retry (router.ts failedScreen).
    (state) => {
      if (state === 'out' && !router.currentRoute.value.meta.public) void router.push({ name: 'login', query: { next: router.currentRoute.value.fullPath } });
      if (state === 'in' && router.currentRoute.value.meta.public) router.push(typeof router.currentRoute.value.query.next === 'string' ? router.currentRoute.value.query.next : '/directory').catch(() => undefined);
    },
  );
  app.mount('#app');
  // Every screen's code now, while the node that serves it is surely there (router.ts); then watch the node.
  void loadAllScreens();
  useConnectionStore().watch();
}

// session.restore() keeps its failures in the session (the login screen then shows); nothing else here waits.
void start();
