// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import BackupPanel from '../../../src-renderer/components/BackupPanel.vue';
import { FakeNode, loggedIn, mountInApp, settle } from '../fake-node';

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
});
afterEach(() => vi.unstubAllGlobals());

describe('BackupPanel', () => {
  it('chooses the folder, backs up now, and says in French when the last backup was made and how it went', async () => {
    let state: Record<string, unknown> = {};
    node.on('GET', /^\/admin\/backup\/daily$/, () => ({ json: state }));
    node.on('PUT', /^\/admin\/backup\/daily$/, (call) => {
      state = { folder: (call.body as { folder: string }).folder };
      return { json: state };
    });
    node.on('POST', /^\/admin\/backup\/daily\/now$/, () => {
      state = { ...state, last: { at: '2026-12-07T02:00:00.000Z', ok: false, error: "ENOENT: no such file or directory, mkdir '/media/cle'", problem: 'folderMissing' } };
      return { json: state };
    });
    const { wrapper } = await mountInApp(BackupPanel, { pinia: await loggedIn(node) });
    await settle();
    expect(wrapper.text()).toContain('Aucun dossier choisi : pas de sauvegarde quotidienne.');
    expect(wrapper.find('[data-backup-last]').text()).toContain('Aucune sauvegarde faite');
    await wrapper.find('[data-backup-folder]').setValue('/media/cle');
    await wrapper.find('form').trigger('submit');
    await settle();
    expect(node.callsTo('PUT', /admin\/backup\/daily/)[0].body).toEqual({ folder: '/media/cle' });
    await wrapper.findAll('button').find((button) => button.text() === 'Sauvegarder maintenant')!.trigger('click');
    await settle();
    const last = wrapper.find('[data-backup-last]').text();
    expect(last).toContain('Dernière sauvegarde le');
    expect(last).toContain('échec');
    expect(wrapper.find('[data-backup-problem]').text()).toBe('Le dossier « /media/cle » est introuvable : vérifiez que le disque ou la clé est branché, ou que le chemin est juste.');
    // The node's English stays as the detail, for support.
    expect(last).toContain('ENOENT');
  });

  it.each([
    ['diskFull', 'Le disque de sauvegarde est plein : libérez de la place ou choisissez un autre disque.'],
    ['refused', 'Le nœud n’a pas le droit d’écrire dans « /media/cle » : choisissez un autre dossier ou faites modifier ses droits.'],
    ['readOnly', 'Le disque de sauvegarde est en lecture seule : choisissez un disque où l’on peut écrire.'],
    ['diskError', 'Le disque de sauvegarde signale une erreur de lecture ou d’écriture : il est peut-être abîmé ou a été débranché pendant la sauvegarde.'],
    ['noFolder', 'Aucun dossier de sauvegarde n’est choisi : indiquez-en un ci-dessus.'],
    // A node from before the kinds: said in general words.
    [undefined, 'La sauvegarde n’a pas pu être écrite. Vérifiez que le dossier existe et que le disque est branché.'],
  ])('says a failed backup of kind %s in French', async (problem, sentence) => {
    node.on('GET', /^\/admin\/backup\/daily$/, { json: { folder: '/media/cle', last: { at: '2026-12-07T02:00:00.000Z', ok: false, error: 'some English', ...(problem ? { problem } : {}) } } });
    const { wrapper } = await mountInApp(BackupPanel, { pinia: await loggedIn(node) });
    await settle();
    expect(wrapper.find('[data-backup-problem]').text()).toBe(sentence);
  });

  it('stays away for users who are not admins (the node answers 403)', async () => {
    node.on('GET', /^\/admin\/backup\/daily$/, { status: 403, json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'Only an admin' }] } });
    const { wrapper } = await mountInApp(BackupPanel, { pinia: await loggedIn(node) });
    await settle();
    expect(wrapper.find('[data-backup]').exists()).toBe(false);
  });
});
