import { app, dialog } from 'electron';
import electronUpdater from 'electron-updater';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Updates through electron-updater, only when the installer was built with a publish target (electron-builder then
 * ships app-update.yml); builds without one (the default) never call out.
 */
export function updatesConfigured(): boolean {
  return app.isPackaged && existsSync(join(process.resourcesPath, 'app-update.yml'));
}

export function checkForUpdatesInBackground(): void {
  if (!updatesConfigured()) return;
  electronUpdater.autoUpdater.checkForUpdatesAndNotify().catch((error: unknown) => console.warn('Update check failed:', error));
}

/** From the menu: the same check, with an answer either way. */
export async function checkForUpdatesNow(): Promise<void> {
  if (!updatesConfigured()) {
    await dialog.showMessageBox({ type: 'info', message: 'Les mises à jour automatiques ne sont pas configurées pour cette installation.' });
    return;
  }
  try {
    const result = await electronUpdater.autoUpdater.checkForUpdatesAndNotify();
    if (!result?.isUpdateAvailable) await dialog.showMessageBox({ type: 'info', message: `Liaison ${app.getVersion()} est à jour.` });
  } catch (error) {
    await dialog.showMessageBox({ type: 'error', message: 'La recherche de mises à jour a échoué.', detail: String(error) });
  }
}
